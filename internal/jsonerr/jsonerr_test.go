package jsonerr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestExplain: each way a hand-written file goes wrong is told with its
// file, line and column, in JSON's words, and the example.
func TestExplain(t *testing.T) {
	type entry struct {
		Name   string   `json:"name"`
		Params []string `json:"params"`
		Count  int      `json:"count"`
	}
	const example = `[{"name": "welcome"}]`
	for _, tt := range []struct{ data, want string }{
		{`{"name": "welcome"}`, `f.json line 1, column 1: found an object where an array belongs; it must be JSON like ` + example},
		{"[{\"name\": \"a\",\n \"params\": [\"1\"],}]", `f.json line 2, column 18: invalid character '}' looking for beginning of object key string; it must be JSON like ` + example},
		{`[{"name": "a", "params": "1"}]`, `f.json line 1, column 28: "params" must be an array, not a string; it must be JSON like ` + example},
		{`[{"count": 1.5}]`, `f.json line 1, column 14: "count" must be a whole number, not a number; it must be JSON like ` + example},
		{`[{"nmae": "a"}]`, `f.json: unknown field "nmae"; it must be JSON like ` + example},
		{" \n", `f.json: the file is empty; it must be JSON like ` + example},
	} {
		dec := json.NewDecoder(bytes.NewReader([]byte(tt.data)))
		dec.DisallowUnknownFields()
		var v []entry
		err := dec.Decode(&v)
		if err == nil {
			t.Fatalf("%q decoded", tt.data)
		}
		if got := Explain("f.json", []byte(tt.data), err, example).Error(); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.data, got, tt.want)
		}
	}
}
