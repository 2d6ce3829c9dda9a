package sandbox

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSenders: a bare array of the configured senders, filterable.
func TestSenders(t *testing.T) {
	old := Sender{DisplayNumber: "255700000002", PhoneNumberID: "100000000000002", Label: "Old"}
	h := newHarness(t, Options{Senders: []Sender{DefaultSender, old}})
	oldID := uuidFor("sender:100000000000002:255700000002")
	for _, tt := range []struct {
		query string
		want  string
	}{
		{"", `[{"id":"` + DefaultSender.ID + `","display_number":"255700000001","phone_number_id":"100000000000001","label":"Sandbox","is_default":true,"is_active":true},` +
			`{"id":"` + oldID + `","display_number":"255700000002","phone_number_id":"100000000000002","label":"Old","is_default":false,"is_active":false}]`},
		{"is_active=false", `[{"id":"` + oldID + `","display_number":"255700000002","phone_number_id":"100000000000002","label":"Old","is_default":false,"is_active":false}]`},
		{"is_default=true&is_active=false", `[]`},
	} {
		r := h.do("GET", "/v1/whatsapp/senders?"+tt.query, "")
		if r.status != 200 || !sameJSON(t, r.body, tt.want) {
			t.Errorf("senders?%s: %d %s\nwant %s", tt.query, r.status, r.body, tt.want)
		}
	}
}

// TestTemplates: the templates file is served bare and cursor-paged, with
// Briq's filters.
func TestTemplates(t *testing.T) {
	h := newHarness(t, Options{Templates: []Template{}, TemplatesFile: "testdata/templates.json"})
	type page struct {
		Items []struct {
			ID              string   `json:"id"`
			Name            string   `json:"name"`
			Status          string   `json:"status"`
			Params          []string `json:"params"`
			ParameterFormat string   `json:"parameter_format"`
		} `json:"items"`
		CursorNext *string `json:"cursor_next"`
		TotalCount int     `json:"total_count"`
	}
	get := func(query string) page {
		t.Helper()
		r := h.do("GET", "/v1/whatsapp/templates?"+query, "")
		var p page
		if err := json.Unmarshal(r.body, &p); r.status != 200 || err != nil {
			t.Fatalf("templates?%s: %d %s", query, r.status, r.body)
		}
		return p
	}
	names := func(query string) (out []string) {
		for q := query; ; {
			p := get(q)
			for _, it := range p.Items {
				out = append(out, it.Name)
			}
			if p.CursorNext == nil {
				return out
			}
			q = query + "&cursor=" + url.QueryEscape(*p.CursorNext)
		}
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"limit=2&sort=name_asc", []string{"bf_offer", "bf_reminder", "order_update", "otp_code", "spring_sale"}},
		{"limit=1&sort=name_desc", []string{"spring_sale", "otp_code", "order_update", "bf_reminder", "bf_offer"}},
		{"sort=name_asc&status=PENDING", []string{"spring_sale"}},
		{"sort=name_asc&status=APPROVED&category=AUTH", []string{"otp_code"}},
		{"sort=name_asc&category=MARKETING&category=UTILITY&language=en_US", []string{"bf_offer", "order_update", "spring_sale"}},
		{"sort=name_asc&name_or_content=BF_", []string{"bf_offer", "bf_reminder"}},
	} {
		if diff := cmp.Diff(tt.want, names(tt.query)); diff != "" {
			t.Errorf("templates?%s (-want +got):\n%s", tt.query, diff)
		}
	}
	p := get("limit=1&sort=name_asc")
	it := p.Items[0]
	if p.TotalCount != 5 || it.Name != "bf_offer" || !isUUID(it.ID) || it.Status != "APPROVED" || it.ParameterFormat != "POSITIONAL" ||
		!cmp.Equal(it.Params, []string{"1", "2"}) {
		t.Errorf("first template page = %+v", p)
	}
	if get("name_or_content=reminder").Items[0].ParameterFormat != "NAMED" {
		t.Error("bf_reminder's named params not NAMED")
	}
	// And the file's templates are the ones sends are checked against.
	h.send(`{"type":"template","to":"255712000001","template_name":"bf_reminder","variables":{"name":"Asha"}}`)
	if r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"255712000001","template_name":"spring_sale","variables":{"1":"x"}}`); r.status != 404 {
		t.Errorf("IN_REVIEW template: %d", r.status)
	}
}

// TestOptionsChecked: bad templates, senders and settings stop New with a
// clear error.
func TestOptionsChecked(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		want string
	}{
		{"templates file missing", Options{TemplatesFile: "testdata/nope.json"}, "nope.json"},
		{"templates file typo", Options{TemplatesFile: "testdata/templates-typo.json"}, `unknown field "parms"`},
		{"template twice", Options{Templates: []Template{{Name: "a", Language: "en"}, {Name: "a", Language: "en"}}}, `template "a": defined twice in language "en"`},
		{"template without name", Options{Templates: []Template{{Status: "APPROVED"}}}, "template 1: name is empty"},
		{"template status", Options{Templates: []Template{{Name: "a", Status: "OK"}}}, `unknown status "OK"`},
		{"sender id", Options{Senders: []Sender{{ID: "main"}}}, `id "main" is not a uuid`},
		{"silent", Options{Silent: new(2.0)}, "silent share 2"},
		{"opt-out", Options{OptOut: -1}, "opt-out share -1"},
		{"answer weight", Options{Answers: map[string]float64{"yes": -1}}, "answer weight yes=-1"},
		{"status delays", Options{StatusDelays: StatusDelays{Sent: 2, Delivered: 1, Read: 3}}, "status delays"},
		{"reply delay", Options{ReplyDelay: ReplyDelay{Min: 2, Max: 1}}, "reply delay"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestStartLoopbackOnly: the sandbox refuses to listen beyond loopback.
func TestStartLoopbackOnly(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, addr := range []string{":0", "0.0.0.0:0", "192.0.2.1:0", "example.com:80", "127.0.0.1"} {
		if _, err := s.Start(addr); err == nil {
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		s, _ := New(Options{})
		u, err := s.Start(addr)
		if err != nil || !strings.HasPrefix(u, "http://") {
			t.Errorf("Start(%q) = %q, %v", addr, u, err)
		}
		s.Close()
	}
	if len(s.APIKey()) != 36 || !strings.HasPrefix(s.APIKey(), "sbx_") {
		t.Errorf("generated key %q", s.APIKey())
	}
}

// TestUnknownPath: unknown endpoints answer with a 404 envelope, after the
// key check.
func TestUnknownPath(t *testing.T) {
	h := newHarness(t, Options{})
	if r := h.do("GET", "/v1/whatsapp/nothing", ""); r.status != 404 || r.env.Errors[0].Code != codeNotFound {
		t.Errorf("unknown path: %d %s", r.status, r.body)
	}
	if r := h.doKey("GET", "/v1/whatsapp/nothing", "", ""); r.status != 401 {
		t.Errorf("unknown path without key: %d", r.status)
	}
}
