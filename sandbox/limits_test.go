package sandbox

import (
	"net/http"
	"strings"
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

// TestMarketingLimitLate: with MarketingLimitLate, the second template to a
// phone within 24h is accepted (202, with an id) and reads failed with
// 131049 from when it would have been delivered; it does not count against
// the limit, nor as a message that reached the recipient twice.
func TestMarketingLimitLate(t *testing.T) {
	h := newHarness(t, Options{Faults: Faults{MarketingLimit: 1, MarketingLimitLate: true}})
	first := h.template(phone(1))
	late := h.template(phone(1))
	if got := h.message(late.MessageID); got.Status == "failed" || got.ErrorCode != nil {
		t.Fatalf("at once: %s, code %v; want not failed yet", got.Status, got.ErrorCode)
	}
	h.advance(time.Hour)
	if got := h.message(late.MessageID); got.Status != "failed" || got.ErrorCode == nil || *got.ErrorCode != "131049" {
		t.Errorf("an hour later: %s, code %v; want failed with 131049", got.Status, got.ErrorCode)
	}
	if got := h.message(first.MessageID); got.Status == "failed" {
		t.Errorf("the day's first template failed")
	}
	h.advance(23*time.Hour + time.Second)
	again := h.template(phone(1)) // the refused one did not count: a day after the first
	h.advance(time.Hour)
	if got := h.message(again.MessageID); got.Status == "failed" {
		t.Errorf("a day later: %s, code %v; want delivered", got.Status, got.ErrorCode)
	}
	st := h.s.Stats()
	if st.Accepted != 3 || len(st.Duplicates) != 1 || st.Duplicates[0].Count != 2 {
		t.Errorf("stats: %d accepted, duplicates %+v; want 3 accepted, the refused one not reaching the phone", st.Accepted, st.Duplicates)
	}
	if _, err := New(Options{Faults: Faults{MarketingLimitLate: true}}); err == nil || !strings.Contains(err.Error(), "needs a marketing limit") {
		t.Errorf("MarketingLimitLate without a limit: %v", err)
	}
}
