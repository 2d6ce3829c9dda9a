package briq

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReplyContent(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    ReplyContent
		wantErr error // matched with errors.Is; errAny for any error
	}{
		{
			name:    "interactive button reply",
			content: `{"from":"255712345678","id":"wamid.X","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}}`,
			want:    ReplyContent{Kind: ReplyButton, ID: "yes", Title: "Yes please", Text: "Yes please"},
		},
		{
			name:    "interactive list reply",
			content: `{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"row-2","title":"Tuesday","description":"9:00-12:00"}}}`,
			want:    ReplyContent{Kind: ReplyList, ID: "row-2", Title: "Tuesday", Description: "9:00-12:00", Text: "Tuesday"},
		},
		{
			name:    "template quick-reply button",
			content: `{"type":"button","button":{"payload":"STOP","text":"Stop promotions"}}`,
			want:    ReplyContent{Kind: ReplyQuickReply, ID: "STOP", Title: "Stop promotions", Text: "Stop promotions"},
		},
		{
			name:    "typed text",
			content: `{"type":"text","text":{"body":"yes, send the code"}}`,
			want:    ReplyContent{Kind: ReplyText, Text: "yes, send the code"},
		},
		{
			name:    "text without type",
			content: `{"text":{"body":"hi"}}`,
			want:    ReplyContent{Kind: ReplyText, Text: "hi"},
		},
		{
			name:    "text as a bare string",
			content: `{"type":"text","text":"hi"}`,
			want:    ReplyContent{Kind: ReplyText, Text: "hi"},
		},
		{
			name:    "inner text",
			content: `{"body":"STOP"}`,
			want:    ReplyContent{Kind: ReplyText, Text: "STOP"},
		},
		{
			name:    "content is a string",
			content: `"Habari"`,
			want:    ReplyContent{Kind: ReplyText, Text: "Habari"},
		},
		{
			name:    "image is no error",
			content: `{"type":"image","image":{"id":"media-1","mime_type":"image/jpeg"}}`,
			want:    ReplyContent{Kind: "image"},
		},
		{
			name:    "interactive of another kind",
			content: `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{}}}`,
			want:    ReplyContent{Kind: "interactive"},
		},
		{
			name:    "inner button reply",
			content: `{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}`,
			want:    ReplyContent{Kind: ReplyButton, ID: "yes", Title: "Yes please", Text: "Yes please"},
		},
		{
			name:    "inner list reply",
			content: `{"list_reply":{"description":"Fits 4","id":"l","title":"Large"},"type":"list_reply"}`,
			want:    ReplyContent{Kind: ReplyList, ID: "l", Title: "Large", Description: "Fits 4", Text: "Large"},
		},
		{
			name:    "inner quick-reply button",
			content: `{"payload":"STOP","text":"Stop promotions"}`,
			want:    ReplyContent{Kind: ReplyQuickReply, ID: "STOP", Title: "Stop promotions", Text: "Stop promotions"},
		},
		{name: "null", content: `null`, wantErr: ErrNoContent},
		{name: "empty", content: ``, wantErr: ErrNoContent},
		{name: "malformed", content: `{"type":`, wantErr: errAny},
		{name: "text of a wrong type", content: `{"text":42}`, wantErr: errAny},
		{name: "array", content: `[1]`, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReplyContent(json.RawMessage(tt.content))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny stands for "some error" in test tables.
var errAny = errors.New("any error")
