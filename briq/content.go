package briq

import (
	"encoding/json"
	"reflect"
)

// contentFields are the fields of a MessageRequest that carry its content.
var contentFields = []string{"template_name", "variables", "body", "media_kind", "media_url", "caption", "filename"}

// SameContent compares the content Briq lists for an outbound message
// (Message.Content, whose layout the docs do not give) with sent, the body
// of the request that would send it without its targeting (a
// MessageRequest's or an InteractiveRequest's JSON). It reads the layouts
// that follow the request: the request's content fields at the top level,
// or the interactive object, bare or under "interactive". known is false
// for any other layout, and then same is false too. Only the fields listed
// are compared, so same means that nothing Briq shows contradicts sent.
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
	for _, f := range contentFields {
		v, ok := l[f]
		if !ok {
			continue
		}
		known = true
		if !reflect.DeepEqual(v, s[f]) {
			return false, true
		}
	}
	return known, known
}
