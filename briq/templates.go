package briq

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

const pathTemplates = "/v1/whatsapp/templates"

// Template is a WhatsApp message template of the workspace (WaTemplate).
// Name is what a send's template_name names; Params lists the placeholder
// names, which are the keys of a send's variables, in order.
type Template struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	Status                 string          `json:"status"`
	IsDeleted              bool            `json:"is_deleted"`
	Language               string          `json:"language"`
	Category               string          `json:"category"`
	Params                 []string        `json:"params"`
	TemplateType           string          `json:"template_type"`
	ParameterFormat        string          `json:"parameter_format"`
	QualityScore           string          `json:"quality_score"`
	WhatsAppSenderNumberID string          `json:"whatsapp_sender_number_id"`
	RejectionReasonCode    string          `json:"rejection_reason_code"`
	RejectionReasonText    string          `json:"rejection_reason_text"`
	Details                json.RawMessage `json:"details"`
	CreatedAt              Time            `json:"created_at"`
	UpdatedAt              Time            `json:"updated_at"`
	ApprovedAt             Time            `json:"approved_at"`
	LastSentAt             Time            `json:"last_sent_at"`
}

// TemplateApproved is the only template status that can be sent.
const TemplateApproved = "APPROVED"

// TemplatePage is one page of GET /v1/whatsapp/templates, a bare
// {items, cursor_next, total_count}. CursorNext is empty on the last page;
// TotalCount is nil when the server does not count.
type TemplatePage struct {
	Items      []Template `json:"items"`
	CursorNext string     `json:"cursor_next"`
	TotalCount *int       `json:"total_count"`
}

// TemplateQuery filters GET /v1/whatsapp/templates. Zero fields are left
// out; Status, Category and Language repeat (OR). Limit is 1..200 (server
// default 50). Cursor is a previous page's CursorNext.
type TemplateQuery struct {
	SenderID      string
	Status        []string
	Category      []string
	Language      []string
	NameOrContent string
	Sort          string
	Limit         int
	Cursor        string
}

// maxTemplatesLimit is the largest page GET /v1/whatsapp/templates serves.
const maxTemplatesLimit = 200

func (q TemplateQuery) values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "sender_id", q.SenderID)
	v["status"] = q.Status
	v["category"] = q.Category
	v["language"] = q.Language
	setNonEmpty(v, "name_or_content", q.NameOrContent)
	setNonEmpty(v, "sort", q.Sort)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	setNonEmpty(v, "cursor", q.Cursor)
	for k, vs := range v {
		if len(vs) == 0 {
			delete(v, k)
		}
	}
	return v
}

// ListTemplates fetches one page of templates.
func (c *Client) ListTemplates(ctx context.Context, q TemplateQuery) (*TemplatePage, error) {
	const op = "list templates"
	if err := checkLimit(op, q.Limit, maxTemplatesLimit); err != nil {
		return nil, err
	}
	resp, e := c.exchange(ctx, op, http.MethodGet, withQuery(pathTemplates, q.values()), nil)
	if e != nil {
		return nil, e
	}
	var page TemplatePage
	if err := c.decodeRead(op, resp, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// AllTemplates iterates over every template matching q, following
// cursor_next from q.Cursor on with the same filters and sort, in pages of
// q.Limit (default 200). Breaking out of the loop stops the fetching. On an
// error, including a server that hands back the cursor it was given, the
// iterator yields the error once and stops.
func (c *Client) AllTemplates(ctx context.Context, q TemplateQuery) iter.Seq2[Template, error] {
	if q.Limit == 0 {
		q.Limit = maxTemplatesLimit
	}
	return func(yield func(Template, error) bool) {
		for {
			p, err := c.ListTemplates(ctx, q)
			if err != nil {
				yield(Template{}, err)
				return
			}
			for _, t := range p.Items {
				if !yield(t, nil) {
					return
				}
			}
			if p.CursorNext == "" {
				return
			}
			if p.CursorNext == q.Cursor {
				yield(Template{}, &Error{Op: "list templates", Class: InDoubt, HTTPStatus: http.StatusOK,
					Err: fmt.Errorf("server returned cursor %q again", p.CursorNext)})
				return
			}
			q.Cursor = p.CursorNext
		}
	}
}
