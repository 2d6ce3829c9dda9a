package briq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Reply kinds reported in ReplyContent.Kind.
const (
	ReplyButton     = "button_reply" // interactive reply button
	ReplyList       = "list_reply"   // interactive list row
	ReplyQuickReply = "button"       // template quick-reply button
	ReplyText       = "text"         // typed text
)

// ReplyContent is what a campaign can branch on in an inbound reply.
type ReplyContent struct {
	// Kind is one of the Reply* constants, or the inbound message's own
	// "type" (e.g. "image") when it carries none of the shapes read here.
	Kind string
	// ID is the chosen button's or row's id (a quick-reply's payload);
	// empty for typed text.
	ID string
	// Title is the chosen button's or row's title (a quick-reply's text).
	Title string
	// Description is a list row's description.
	Description string
	// Text is what the recipient's chat shows as their message: the title
	// of a chosen button or row, or the typed text.
	Text string
}

// replyChoice is a chosen reply button or list row.
type replyChoice struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// interactiveReply is WhatsApp's inbound "interactive" object.
type interactiveReply struct {
	ButtonReply *replyChoice `json:"button_reply"`
	ListReply   *replyChoice `json:"list_reply"`
}

// choice returns the reply button or list row chosen, if any.
func (r *interactiveReply) choice() (ReplyContent, bool) {
	switch {
	case r == nil:
	case r.ButtonReply != nil:
		b := r.ButtonReply
		return ReplyContent{Kind: ReplyButton, ID: b.ID, Title: b.Title, Text: b.Title}, true
	case r.ListReply != nil:
		l := r.ListReply
		return ReplyContent{Kind: ReplyList, ID: l.ID, Title: l.Title, Description: l.Description, Text: l.Title}, true
	}
	return ReplyContent{}, false
}

// inboundContent is the subset of a WhatsApp Cloud API inbound message that
// carries an answer, in either of two layouts, since Briq does not document
// which one "content" holds: the whole message ({"type":"interactive",
// "interactive":{...}}) or only the object its type names (the
// "interactive" object itself, {"body": ...} of a text, {"payload", "text"}
// of a button). The sandbox stores the second.
type inboundContent struct {
	Type             string            `json:"type"`
	interactiveReply                   // the "interactive" object itself
	Interactive      *interactiveReply `json:"interactive"`
	Button           *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	// Payload is the "button" object itself; its "text" is then Text.
	Payload *string `json:"payload"`
	// Text is {"body": "..."} in Meta's message; a bare string is accepted.
	Text json.RawMessage `json:"text"`
	// Body is the "text" object itself.
	Body *string `json:"body"`
}

// ErrNoContent is returned by ParseReplyContent for empty or null content.
var ErrNoContent = errors.New("briq: reply has no content")

// ParseReplyContent reads an inbound message's content (Message.Content) in
// the WhatsApp Cloud API shapes, as the whole inbound message:
//
//	{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}}
//	{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r1","title":"…","description":"…"}}}
//	{"type":"button","button":{"payload":"STOP","text":"Stop promotions"}}
//	{"type":"text","text":{"body":"hello"}}
//
// or as the object the message's type names:
//
//	{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}
//	{"type":"list_reply","list_reply":{"id":"r1","title":"…","description":"…"}}
//	{"payload":"STOP","text":"Stop promotions"}
//	{"body":"hello"}
//
// It also accepts "text" as a bare string and a content that is itself a
// JSON string (typed text). Other message types (image, location, …) are no
// error: Kind is their "type" and the rest is empty.
func ParseReplyContent(content json.RawMessage) (ReplyContent, error) {
	content = bytes.TrimSpace(content)
	if len(content) == 0 || bytes.Equal(content, []byte("null")) {
		return ReplyContent{}, ErrNoContent
	}
	if content[0] == '"' {
		var s string
		if err := json.Unmarshal(content, &s); err != nil {
			return ReplyContent{}, fmt.Errorf("briq: reply content: %w", err)
		}
		return ReplyContent{Kind: ReplyText, Text: s}, nil
	}
	var in inboundContent
	if err := json.Unmarshal(content, &in); err != nil {
		return ReplyContent{}, fmt.Errorf("briq: reply content: %w", err)
	}
	if r, ok := in.Interactive.choice(); ok {
		return r, nil
	}
	if r, ok := in.interactiveReply.choice(); ok {
		return r, nil
	}
	if b := in.Button; b != nil {
		return ReplyContent{Kind: ReplyQuickReply, ID: b.Payload, Title: b.Text, Text: b.Text}, nil
	}
	text, err := in.text()
	if err != nil {
		return ReplyContent{}, err
	}
	switch {
	case in.Payload != nil:
		return ReplyContent{Kind: ReplyQuickReply, ID: *in.Payload, Title: text, Text: text}, nil
	case len(in.Text) > 0 && !bytes.Equal(in.Text, []byte("null")):
		return ReplyContent{Kind: ReplyText, Text: text}, nil
	case in.Body != nil:
		return ReplyContent{Kind: ReplyText, Text: *in.Body}, nil
	}
	return ReplyContent{Kind: in.Type}, nil
}

// text decodes the "text" member: Meta's {"body": ...} or a plain string.
func (in *inboundContent) text() (string, error) {
	if len(in.Text) == 0 || bytes.Equal(in.Text, []byte("null")) {
		return "", nil
	}
	var s string
	if json.Unmarshal(in.Text, &s) == nil {
		return s, nil
	}
	var body struct {
		Body string `json:"body"`
	}
	if json.Unmarshal(in.Text, &body) == nil {
		return body.Body, nil
	}
	return "", errors.New(`briq: reply content: "text" is neither {"body": string} nor a string`)
}
