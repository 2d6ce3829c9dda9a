package briq

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// SameContent compares the content Briq lists for an outbound message
// (Message.Content, whose layout the docs do not give) with sent, the body
// of the request that would send it without its targeting (a
// MessageRequest's or an InteractiveRequest's JSON). It reads the layouts
// that follow the request: its content fields at the top level, or the
// interactive object, bare or under "interactive". known is false unless
// listed has the main field of sent's kind (template_name, body, media_url,
// or the interactive object); then same is false too. Only the fields of
// the kind are compared, with null, empty and absent alike, and variables
// by their text, so same means that nothing Briq shows contradicts sent.
func SameContent(listed, sent json.RawMessage) (same, known bool) {
	var l, s map[string]any
	if json.Unmarshal(listed, &l) != nil || json.Unmarshal(sent, &s) != nil || l == nil || s == nil {
		return false, false
	}
	if want, ok := s["interactive"]; ok {
		switch {
		case l["interactive"] != nil:
			return reflect.DeepEqual(l["interactive"], want), true
		case l["action"] != nil:
			return reflect.DeepEqual(any(l), want), true
		}
		return false, false
	}
	var main string
	var fields []string
	switch {
	case s["template_name"] != nil:
		main, fields = "template_name", []string{"template_name"}
	case s["media_url"] != nil:
		main, fields = "media_url", []string{"media_url", "caption", "filename"}
	default:
		main, fields = "body", []string{"body"}
	}
	if text(l[main]) == "" {
		return false, false
	}
	for _, f := range fields {
		if text(l[f]) != text(s[f]) {
			return false, true
		}
	}
	if main == "template_name" {
		lv, isMap := l["variables"].(map[string]any)
		sv, _ := s["variables"].(map[string]any)
		if !isMap && l["variables"] != nil || len(lv) != len(sv) {
			return false, true
		}
		for k, v := range sv {
			if lvv, ok := lv[k]; !ok || text(lvv) != text(v) {
				return false, true
			}
		}
	}
	return true, true
}

// text is v as text: a string as it is, a number in its shortest form,
// null and absent as "".
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
