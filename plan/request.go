package plan

import (
	"encoding/json"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
)

// Request is the Briq request that sends a payload, without its targeting
// (to, sender, conversation_id), which apply adds for each send. Exactly
// one of its fields is set: Interactive for interactive content, which
// goes to the interactive endpoint (G3), Message for the rest (G2).
//
// It is the one mapping from rendered content to the wire: apply sends it,
// and plan and state show shows its Content, so what a reviewer reads is
// what Briq receives.
type Request struct {
	Message     *briq.MessageRequest
	Interactive *briq.InteractiveRequest
}

// wireTypes are the G2 send's type for each kind of content but
// interactive: briq's names, whatever the configuration calls the kind.
var wireTypes = map[config.Kind]string{
	config.KindTemplate: briq.TypeTemplate,
	config.KindText:     briq.TypeText,
	config.KindMedia:    briq.TypeMedia,
}

// NewRequest maps p onto the request that sends it.
func NewRequest(p *config.Payload) Request {
	if p.Kind == config.KindInteractive {
		return Request{Interactive: &briq.InteractiveRequest{Interactive: p.Interactive}}
	}
	m := &briq.MessageRequest{
		Type:         wireTypes[p.Kind],
		TemplateName: p.TemplateName,
		Variables:    p.Variables,
		Body:         p.Body,
	}
	if p.Media != nil {
		m.MediaKind, m.MediaURL, m.Caption, m.Filename = p.Media.Kind, p.Media.URL, p.Media.Caption, p.Media.Filename
	}
	return Request{Message: m}
}

// Content is the request's JSON body with no targeting. The targeting
// fields come first in briq's requests, so the body Briq receives for a
// send is this one with them inserted after its opening brace.
func (r Request) Content() json.RawMessage {
	var v any = r.Message
	if r.Interactive != nil {
		v = r.Interactive
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only an invalid Interactive can fail, and Render never makes one.
		return nil
	}
	return b
}

// RequestContent is the Content of the request that sends p.
func RequestContent(p *config.Payload) json.RawMessage {
	return NewRequest(p).Content()
}
