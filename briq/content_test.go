package briq

import (
	"encoding/json"
	"testing"
)

func TestSameContent(t *testing.T) {
	template := `{"type":"template","template_name":"welcome","variables":{"1":"Ana"}}`
	text := `{"type":"text","body":"Your code: BF-ANA"}`
	buttons := `{"type":"button","body":{"text":"Want it?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}}]}}`
	interactive := `{"interactive":` + buttons + `}`
	for _, c := range []struct {
		listed, sent string
		same, known  bool
	}{
		{`{"template_name":"welcome","variables":{"1":"Ana"}}`, template, true, true},
		{`{"variables":{"1":"Ana"},"template_name":"welcome","language":"en"}`, template, true, true},
		{`{"template_name":"welcome"}`, template, false, true}, // variables missing: not these
		{`{"template_name":"ping","variables":{}}`, `{"type":"template","template_name":"ping"}`, true, true},
		{`{"template_name":"ping","variables":null}`, `{"type":"template","template_name":"ping"}`, true, true},
		{`{"template_name":"welcome","variables":{"1":"Ana"},"body":"Hello Ana, welcome!"}`, template, true, true},
		{`{"template_name":"code","variables":{"1":42}}`, `{"type":"template","template_name":"code","variables":{"1":"42"}}`, true, true},
		{`{"template_name":"welcome","variables":["Ana"]}`, template, false, true},
		{`{"text":"Something else entirely","caption":null,"media_url":null}`, text, false, false},
		{`{"body":"Your code: BF-ANA","caption":"","media_url":""}`, text, true, true},
		{`{"body":null}`, text, false, false},
		{`{"media_kind":"image","media_url":"https://x/a.png","caption":null}`, `{"type":"media","media_kind":"image","media_url":"https://x/a.png"}`, true, true},
		{`{"media_url":"https://x/a.png","caption":"Hi"}`, `{"type":"media","media_kind":"image","media_url":"https://x/a.png"}`, false, true},
		{`{"template_name":"welcome","variables":{"1":"Bo"}}`, template, false, true},
		{`{"template_name":"promo","variables":{"1":"Ana"}}`, template, false, true},
		{`{"body":"Your code: BF-ANA"}`, text, true, true},
		{`{"body":"Your code: BF-BO"}`, text, false, true},
		{`{"body":"Your code: BF-ANA"}`, template, false, false}, // no template name: not comparable
		{buttons, interactive, true, true},
		{interactive, interactive, true, true},
		{`{"type":"button","body":{"text":"Other?"},"action":{}}`, interactive, false, true},
		{`{"sandbox":{"body":"Your code: BF-ANA"}}`, text, false, false},
		{`{"sandbox":` + buttons + `}`, interactive, false, false},
		{`"Your code: BF-ANA"`, text, false, false},
		{`null`, text, false, false},
		{``, text, false, false},
	} {
		same, known := SameContent(json.RawMessage(c.listed), json.RawMessage(c.sent))
		if same != c.same || known != c.known {
			t.Errorf("SameContent(%s, %s) = %v, %v; want %v, %v", c.listed, c.sent, same, known, c.same, c.known)
		}
	}
}
