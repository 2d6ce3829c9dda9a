package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// TestMarketingLimit: with MarketingLimit 1, a second template to a phone
// within 24h is refused with 422 and Meta's code 131049, and recorded
// nowhere; a day later it is accepted. Other phones are not affected.
func TestMarketingLimit(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{MarketingLimit: 1}})
	h.template(phone(1))
	body := `{"type":"template","to":"` + phone(1) + `","template_name":"bf_offer","variables":{"1":"Asha","2":"20%"}}`
	r := h.do("POST", "/v1/whatsapp/messages", body)
	if r.status != http.StatusUnprocessableEntity || len(r.env.Errors) != 1 || r.env.Errors[0].Code != "131049" || string(r.env.Data) != "null" {
		t.Fatalf("second template within 24h: %d %s, want 422 with code 131049 and no data", r.status, r.body)
	}
	h.template(phone(2))
	h.advance(24*time.Hour + time.Second)
	h.template(phone(1))
	st := h.s.Stats()
	if st.ByRecipient[phone(1)] != 2 || st.ByRecipient[phone(2)] != 1 || st.Rejected["131049"] != 1 {
		t.Errorf("stats: by recipient %v, rejected %v", st.ByRecipient, st.Rejected)
	}
}

// TestPaceStats: the stats give the most templates within any 24 hours and
// the least time between two messages to one recipient.
func TestPaceStats(t *testing.T) {
	h := newHarness(t, Options{})
	if st := h.s.Stats(); st.MaxTemplatesPer24h != 0 || st.MinPairGap != nil {
		t.Fatalf("empty sandbox: %d per 24h, gap %v", st.MaxTemplatesPer24h, st.MinPairGap)
	}
	h.template(phone(1))
	h.advance(7 * time.Second)
	h.template(phone(1))
	h.template(phone(2))
	h.advance(23 * time.Hour)
	h.template(phone(3)) // 4 within 24h
	h.advance(time.Hour)
	h.template(phone(4)) // the first has left the window: 4 again
	st := h.s.Stats()
	if st.MaxTemplatesPer24h != 4 {
		t.Errorf("max templates per 24h %d, want 4", st.MaxTemplatesPer24h)
	}
	if st.MinPairGap == nil || *st.MinPairGap != 7*time.Second {
		t.Errorf("min pair gap %v, want 7s", st.MinPairGap)
	}
}
