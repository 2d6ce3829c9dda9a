package sandbox

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParallelSends: 200 concurrent sends over real TCP, with reads going on
// at the same time, are each accepted once and agree with Stats (run it with
// -race).
func TestParallelSends(t *testing.T) {
	h := newHarness(t, Options{Silent: new(0.0)})
	const n = 200
	ids := make([]string, n)
	errs := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := `{"type":"template","to":"` + phone(i) + `","template_name":"bf_offer","variables":{"1":"A","2":"B"}}`
			req, _ := http.NewRequest("POST", h.url+"/v1/whatsapp/messages", strings.NewReader(body))
			req.Header.Set("X-API-Key", h.s.APIKey())
			res, err := h.client.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			var env struct {
				Data struct {
					MessageID string `json:"message_id"`
				} `json:"data"`
			}
			if err := json.NewDecoder(res.Body).Decode(&env); err != nil || res.StatusCode != 202 {
				errs <- res.Status
				return
			}
			ids[i] = env.Data.MessageID
		})
		if i%20 == 0 {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", h.url+"/v1/whatsapp/messages?limit=5", nil)
				req.Header.Set("X-API-Key", h.s.APIKey())
				if res, err := h.client.Do(req); err == nil {
					res.Body.Close()
				}
				h.s.Stats()
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st := h.s.Stats()
	if st.Accepted != n || st.ByKind["template"] != n || len(st.ByRecipient) != n || len(st.Duplicates) != 0 || st.Sends != n {
		t.Errorf("stats: accepted %d, by kind %v, %d recipients, duplicates %v, sends %d", st.Accepted, st.ByKind, len(st.ByRecipient), st.Duplicates, st.Sends)
	}
	var recorded []string
	for _, m := range st.Messages {
		recorded = append(recorded, m.ID)
	}
	sort.Strings(ids)
	sort.Strings(recorded)
	if diff := cmp.Diff(ids, recorded); diff != "" {
		t.Errorf("client's ids and sandbox's records differ (-client +sandbox):\n%s", diff)
	}
	if p := h.list("limit=200"); p.Total != n {
		t.Errorf("list total %d, want %d", p.Total, n)
	}
}

// TestDuplicates: the same content to the same recipient twice is a
// duplicate, whether sent by number or into the conversation, with "+"
// or without; other content or other recipients are not.
func TestDuplicates(t *testing.T) {
	h := newHarness(t, Options{Silent: new(1.0)})
	a := h.template("255712000001")
	h.template("+255712000001")
	h.template("255712000002")
	h.send(`{"type":"template","to":"255712000001","template_name":"bf_offer","variables":{"2":"20%","1":"Asha"}}`) // same, keys reordered
	h.send(`{"type":"template","to":"255712000001","template_name":"bf_offer","variables":{"1":"Juma","2":"20%"}}`)
	h.send(`{"type":"text","conversation_id":"` + a.ConversationID + `","body":"hi"}`)
	h.send(`{"type":"text","to":"255712000001","body":"hi"}`)
	h.send(`{"type":"media","to":"255712000001","media_kind":"IMAGE","media_url":"https://x.test/a.png"}`)

	st := h.s.Stats()
	var got []Duplicate
	for _, d := range st.Duplicates {
		d.Digest = ""
		got = append(got, d)
	}
	want := []Duplicate{{To: "255712000001", Kind: "template", Count: 3}, {To: "255712000001", Kind: "text", Count: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("duplicates (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"255712000001": 7, "255712000002": 1}, st.ByRecipient); diff != "" {
		t.Errorf("by recipient (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"template": 5, "text": 2, "media": 1}, st.ByKind); diff != "" {
		t.Errorf("by kind (-want +got):\n%s", diff)
	}

	// The HTTP form carries the same, and can leave out the message list.
	var overHTTP Stats
	if err := json.Unmarshal(h.do("GET", "/_sandbox/stats", "").body, &overHTTP); err != nil {
		t.Fatal(err)
	}
	st.Requests = overHTTP.Requests // the GET itself is not a /v1 request, but earlier ones moved on
	if diff := cmp.Diff(st, overHTTP); diff != "" {
		t.Errorf("GET /_sandbox/stats (-Stats() +HTTP):\n%s", diff)
	}
	if body := h.do("GET", "/_sandbox/stats?messages=false", "").body; strings.Contains(string(body), `"messages":[{`) {
		t.Errorf("messages=false still lists messages")
	}
	if r := h.doKey("GET", "/_sandbox/stats", "", ""); r.status != 401 {
		t.Errorf("stats without key: %d", r.status)
	}
}
