package briq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// envelope is Briq's operation envelope {success, data, errors, request_id},
// used by sends, messages and G2 conversations. Detail catches the
// {"detail": ...} bodies the framework answers with (404s, some 401/422s).
type envelope[T any] struct {
	Success   *bool           `json:"success"`
	Data      T               `json:"data"`
	Errors    []APIError      `json:"errors"`
	RequestID string          `json:"request_id"`
	Detail    json.RawMessage `json:"detail"`
}

// detailEntry is one item of a FastAPI-style validation "detail" list.
type detailEntry struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// apiErrors returns the envelope's error entries, or entries made from its
// "detail" (a string, or a list of {loc, msg, type}) when there are none.
func (e *envelope[T]) apiErrors() []APIError {
	if len(e.Errors) > 0 || len(e.Detail) == 0 {
		return e.Errors
	}
	var s string
	if json.Unmarshal(e.Detail, &s) == nil {
		return []APIError{{Message: s}}
	}
	var list []detailEntry
	if json.Unmarshal(e.Detail, &list) == nil {
		out := make([]APIError, 0, len(list))
		for _, d := range list {
			loc := make([]string, 0, len(d.Loc))
			for _, p := range d.Loc {
				loc = append(loc, fmt.Sprint(p))
			}
			out = append(out, APIError{Code: d.Type, Message: d.Msg, Field: strings.Join(loc, ".")})
		}
		return out
	}
	return []APIError{{Message: string(e.Detail)}}
}

// fillAPIErrors copies the server's error entries into e, redacted, and the
// deciding entry's code, message and field into e's own fields.
func (c *Client) fillAPIErrors(e *Error, errs []APIError, decider int) {
	if len(errs) == 0 {
		return
	}
	e.Errors = make([]APIError, len(errs))
	for i, a := range errs {
		e.Errors[i] = APIError{Code: c.redact(a.Code), Message: c.redact(a.Message), Field: c.redact(a.Field)}
	}
	if decider < 0 {
		decider = 0
	}
	d := e.Errors[decider]
	e.Code, e.Message, e.Field = d.Code, d.Message, d.Field
}

// readError builds the *Error for a non-2xx answer to a read.
func (c *Client) readError(op string, resp *response) *Error {
	e := &Error{Op: op, Class: classifyReadStatus(resp.status), HTTPStatus: resp.status}
	var env envelope[json.RawMessage]
	if json.Unmarshal(resp.body, &env) == nil {
		e.RequestID = c.redact(env.RequestID)
		c.fillAPIErrors(e, env.apiErrors(), -1)
	}
	if e.Class == RateLimited {
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), c.now())
	}
	return e
}

// decodeRead decodes a 2xx read answer into v, or returns the *Error for a
// non-2xx answer or an undecodable body.
func (c *Client) decodeRead(op string, resp *response, v any) error {
	if resp.status < 200 || resp.status > 299 {
		return c.readError(op, resp)
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return c.newError(op, InDoubt, resp.status, fmt.Errorf("decode response: %w", err))
	}
	return nil
}

// Time is a timestamp from the API. It accepts RFC 3339 and, because Python
// backends often emit them, timestamps without a zone (taken as UTC) or with
// a space instead of the "T". null and "" decode to the zero Time.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if s == "" {
		*t = Time{}
		return nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			*t = Time{v}
			return nil
		}
	}
	return fmt.Errorf("timestamp %q: not RFC 3339", s)
}

// Text is a field of the API's answers whose JSON type is not documented
// and may be a string or a number: a failure's error_code, where Meta's
// codes are integers (131026, 131049). A number is kept as it is written;
// null is "". Any other value is an error, as for a string field.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*t = Text(n)
	return nil
}

// MarshalJSON writes RFC 3339, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return t.Time.MarshalJSON()
}
