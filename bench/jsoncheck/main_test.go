package main

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	sends, messages, err := check(strings.NewReader(`{"format_version":"1","messages":[{"a":[1]},{}],"summary":{"send":2},"sends":[{"address":"x"},{"b":{"c":[]}},{}]}` + "\n"))
	if err != nil || sends != 3 || messages != 2 {
		t.Errorf("check = %d sends, %d messages, %v; want 3, 2, nil", sends, messages, err)
	}
	for _, bad := range []string{``, `[]`, `{"sends":[{"a":1},]}`, `{"sends":[{"a":1}]`, `{"sends":{}}`, `{"a":1} {}`, `{"a":1}]`} {
		if _, _, err := check(strings.NewReader(bad)); err == nil {
			t.Errorf("check(%q) found no problem", bad)
		}
	}
}
