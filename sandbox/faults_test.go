package sandbox

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// post sends a template without failing the test on transport errors.
func (h *harness) post(body string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", h.url+"/v1/whatsapp/messages", strings.NewReader(body))
	req.Header.Set("X-API-Key", h.s.APIKey())
	res, err := h.client.Do(req)
	if err == nil {
		res.Body.Close()
	}
	return res, err
}

// TestFail5xx: injected server errors come before validation and record
// nothing.
func TestFail5xx(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Fail5xx: 1}})
	seen := map[int]bool{}
	for i := range 30 {
		r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"`+phone(i)+`","template_name":"welcome"}`)
		if r.status != 500 && r.status != 502 && r.status != 503 {
			t.Fatalf("send %d: status %d, want a 5xx", i, r.status)
		}
		seen[r.status] = true
	}
	if len(seen) != 3 {
		t.Errorf("statuses seen: %v, want 500, 502 and 503", seen)
	}
	if st := h.s.Stats(); st.Accepted != 0 || len(st.Messages) != 0 || st.Rejected[codeInternal] != 30 || st.Sends != 30 {
		t.Errorf("stats: %+v", st)
	}
	// Reads are not affected.
	if r := h.do("GET", "/v1/whatsapp/senders", ""); r.status != 200 {
		t.Errorf("senders under Fail5xx: %d", r.status)
	}
}

// TestFaultShares: shares are drawn from the seed, so a serial client sees
// the same outcomes every run, in about the configured proportion.
func TestFaultShares(t *testing.T) {
	run := func() (statuses []int) {
		h := newHarness(t, Options{Seed: 3, Faults: Faults{Fail5xx: 0.3}})
		for i := range 100 {
			statuses = append(statuses, h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"`+phone(i)+`","template_name":"welcome"}`).status)
		}
		return statuses
	}
	a, b := run(), run()
	failed := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %d then %d with the same seed", i, a[i], b[i])
		}
		if a[i] >= 500 {
			failed++
		}
	}
	if failed < 15 || failed > 45 {
		t.Errorf("%d of 100 failed with Fail5xx 0.3", failed)
	}
}

// TestDropAfterAccept: the message is recorded, the client gets no answer.
func TestDropAfterAccept(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{DropAfterAccept: 1}})
	if _, err := h.post(`{"type":"template","to":"255712000001","template_name":"welcome"}`); err == nil {
		t.Fatal("send answered; want the connection closed")
	}
	st := h.s.Stats()
	if st.Accepted != 1 || st.Dropped != 1 || st.ByRecipient["255712000001"] != 1 {
		t.Fatalf("stats: %+v", st)
	}
	// The client can find it by listing, as a refresh would.
	h.s.SetFaults(Faults{})
	items, _ := h.conversations("recipient=255712000001")
	if len(items) != 1 {
		t.Fatalf("conversations = %+v", items)
	}
	if p := h.list("direction=outbound&conversation_id=" + items[0].ID); p.Total != 1 || p.Items[0].ID != st.Messages[0].ID {
		t.Errorf("outbound list = %+v, want %s", p, st.Messages[0].ID)
	}
}

// TestLatency: a client that gives up before the delayed answer is left in
// doubt about a message the sandbox accepted.
func TestLatency(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Latency: 300 * time.Millisecond, Jitter: 10 * time.Millisecond}})
	h.client.Timeout = 50 * time.Millisecond
	_, err := h.post(`{"type":"template","to":"255712000001","template_name":"welcome"}`)
	var uerr *url.Error
	if !errors.As(err, &uerr) || !uerr.Timeout() {
		t.Fatalf("send error = %v, want a client timeout", err)
	}
	if st := h.s.Stats(); st.Accepted != 1 {
		t.Errorf("accepted %d, want the timed-out send recorded", st.Accepted)
	}
}

// TestUnreachable: unreachability is a trait of the recipient: the same
// phones fail every time, nothing is recorded for them.
func TestUnreachable(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{Unreachable: 0.5}})
	var unreachable []string
	for i := range 100 {
		r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"`+phone(i)+`","template_name":"welcome"}`)
		switch {
		case r.status == 422 && r.env.Errors[0].Code == codeUnreachable:
			unreachable = append(unreachable, phone(i))
		case r.status != 202:
			t.Fatalf("send to %s: %d %s", phone(i), r.status, r.body)
		}
	}
	if n := len(unreachable); n < 35 || n > 65 {
		t.Errorf("%d of 100 unreachable with share 0.5", n)
	}
	for _, p := range unreachable {
		r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"+`+p+`","template_name":"welcome"}`)
		if r.status != 422 {
			t.Errorf("second send to unreachable %s: %d", p, r.status)
		}
		if h.s.Stats().ByRecipient[p] != 0 {
			t.Errorf("unreachable %s recorded", p)
		}
	}
}

// TestProviderFailure: a provider failure answers 422 with a pollable
// message_id whose status is failed.
func TestProviderFailure(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{ProviderFail: 1}})
	codes := map[string]bool{}
	for i := range 20 {
		r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"`+phone(i)+`","template_name":"welcome"}`)
		var m sent
		r.data(t, &m)
		if r.status != 422 || m.Status != "failed" || !isUUID(m.MessageID) || !isUUID(m.ConversationID) {
			t.Fatalf("send %d: %d %s", i, r.status, r.body)
		}
		code := r.env.Errors[0].Code
		codes[code] = true
		h.advance(time.Hour)
		d := h.message(m.MessageID)
		if d.Status != "failed" || d.ErrorCode == nil || *d.ErrorCode != code || d.ProviderMessageID != nil {
			t.Errorf("polled failed message: %+v", d)
		}
	}
	if !codes[codeProviderUnavailable] || !codes[codeSendFailed] || len(codes) != 2 {
		t.Errorf("codes = %v, want PROVIDER_UNAVAILABLE and SEND_FAILED", codes)
	}
	if st := h.s.Stats(); st.Accepted != 0 || len(st.Messages) != 20 || len(st.ByRecipient) != 0 {
		t.Errorf("stats count failed sends as accepted: %+v", st)
	}
}

// TestFailedAnswer: FailedAnswer answers a send that failed at the
// provider 202 with status "failed" and its ids, and records it failed
// with SEND_FAILED, as ProviderFail's 422 does.
func TestFailedAnswer(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{FailedAnswer: 1}})
	r := h.do("POST", "/v1/whatsapp/messages", `{"type":"template","to":"`+phone(1)+`","template_name":"welcome"}`)
	var m sent
	r.data(t, &m)
	if r.status != 202 || !r.env.Success || m.Status != "failed" || !isUUID(m.MessageID) || !isUUID(m.ConversationID) {
		t.Fatalf("%d %s, want 202 with status failed and both ids", r.status, r.body)
	}
	if d := h.message(m.MessageID); d.Status != "failed" || d.ErrorCode == nil || *d.ErrorCode != codeSendFailed {
		t.Errorf("polled: %+v, want failed with %s", d, codeSendFailed)
	}
	if st := h.s.Stats(); st.Accepted != 0 || len(st.Messages) != 1 {
		t.Errorf("stats count the failed send as accepted: %+v", st)
	}
}

// TestFaultOptionsChecked: shares outside [0, 1] and negative values are
// refused.
func TestFaultOptionsChecked(t *testing.T) {
	for _, f := range []Faults{{Fail5xx: 1.5}, {DropAfterAccept: -0.1}, {RateLimit: -1}, {Latency: -time.Second}, {BareAnswer: 2}} {
		if _, err := New(Options{Faults: f}); err == nil {
			t.Errorf("New with %+v succeeded", f)
		}
		s, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetFaults(f); err == nil {
			t.Errorf("SetFaults(%+v) succeeded", f)
		}
	}
}

// TestRecordLag: with RecordLag, what a send records shows only that long
// after the answer: the message (to GET and in the listing) and its new
// conversation; then both, created then.
func TestRecordLag(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{RecordLag: 5 * time.Minute}})
	m := h.template(phone(1))
	if r := h.do("GET", "/v1/whatsapp/messages/"+m.MessageID, ""); r.status != http.StatusNotFound {
		t.Errorf("GET at once: %d, want 404", r.status)
	}
	if n := h.list("direction=outbound").Total; n != 0 {
		t.Errorf("the listing shows %d messages at once, want none", n)
	}
	if r := h.do("GET", "/v1/whatsapp/conversations?recipient="+phone(1), ""); !strings.Contains(string(r.body), `"total":0`) {
		t.Errorf("conversations at once: %s, want none", r.body)
	}
	h.advance(5 * time.Minute)
	if d := h.message(m.MessageID); !d.CreatedAt.Equal(h.s.Now()) {
		t.Errorf("after the lag: created %s, want %s", d.CreatedAt, h.s.Now())
	}
	if r := h.do("GET", "/v1/whatsapp/conversations?recipient="+phone(1), ""); !strings.Contains(string(r.body), `"total":1`) {
		t.Errorf("conversations after the lag: %s, want one", r.body)
	}
}
