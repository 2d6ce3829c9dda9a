package refresh_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// sendUnder sends the template to recipient i with faults switched on for
// that one request, recording the outcome as apply does (its message_id
// kept whatever the answer), and returns the recorded send.
func (f *fixture) sendUnder(faults sandbox.Faults, i int) state.Send {
	f.t.Helper()
	if err := f.srv.SetFaults(faults); err != nil {
		f.t.Fatal(err)
	}
	f.send(addr("offer", i), phoneOf(i), "")
	f.srv.SetFaults(sandbox.Faults{})
	s := f.get(addr("offer", i))
	if s.Outcome != state.OutcomeUnknown {
		f.t.Fatalf("%s: %s after the faulty send, want unknown", s.Addr, s.Outcome)
	}
	return s
}

// TestUnknownWithItsOwnID: a send whose answer named a message_id (a 500
// envelope, a 429) is looked up by that id, never searched for with its own
// id counted as claimed: found, it is accepted with it, at once.
func TestUnknownWithItsOwnID(t *testing.T) {
	f := newFixture(t, nil)
	sends := []state.Send{
		f.sendUnder(sandbox.Faults{AcceptThen500: 1}, 0),
		f.sendUnder(sandbox.Faults{RateLimitWithID: 1}, 1),
	}
	f.advance(11 * time.Minute)
	sum := f.refresh(nil, f.opts())
	if sum.Found != 2 || sum.Absent != 0 || sum.Lookups != 2 {
		t.Errorf("summary %+v: want both found by 2 lookups", sum)
	}
	for _, before := range sends {
		if before.MessageID == "" {
			t.Fatalf("%s: no message_id recorded from the answer", before.Addr)
		}
		if s := f.get(before.Addr); s.Outcome != state.OutcomeAccepted || s.MessageID != before.MessageID {
			t.Errorf("%s: %s %q, want accepted with its own %q", s.Addr, s.Outcome, s.MessageID, before.MessageID)
		}
	}
	if st := f.srv.Stats(); st.Accepted != 2 || len(st.Duplicates) != 0 {
		t.Errorf("sandbox: %d accepted, duplicates %v", st.Accepted, st.Duplicates)
	}
}

// TestUnknownWithAFailedRecord: a provider failure's pollable record is a
// retry only once it is confirmed failed after the settle time, with its
// id kept; a message_id the provider does not know (404) is absent after
// the settle time, and a doubt that was the run's failure (a 504) stays
// one through the refresh that cannot decide yet and the one that does:
// it does not use up the send's attempts.
func TestUnknownWithAFailedRecord(t *testing.T) {
	f := newFixture(t, nil)
	failed := f.sendUnder(sandbox.Faults{ProviderFail: 1}, 0)
	// A send whose recorded id the provider never heard of.
	ghost := addr("offer", 1)
	if err := f.store.RecordIntent(state.Intent{Addr: ghost, Phone: phoneOf(1)}); err != nil {
		t.Fatal(err)
	}
	ghostID := uuid.NewString()
	if err := f.store.RecordResult(state.Result{Addr: ghost, Outcome: state.OutcomeUnknown, MessageID: ghostID, ErrorCode: "HTTP_504", Systemic: true}); err != nil {
		t.Fatal(err)
	}

	sum := f.refresh(nil, f.opts())
	if sum.TooRecent != 2 || sum.Failed != 0 || sum.Absent != 0 {
		t.Errorf("before the settle time: %+v, want both too recent", sum)
	}
	s := f.get(failed.Addr)
	if s.Outcome != state.OutcomeUnknown || s.MessageID != failed.MessageID || !strings.Contains(s.ErrorMessage, "can decide") {
		t.Errorf("before the settle time: %+v, want unknown with its id and a note saying when a refresh can decide", s)
	}

	f.advance(refresh.DefaultSettle + time.Minute)
	sum = f.refresh(nil, f.opts())
	if sum.Failed != 1 || sum.Absent != 1 {
		t.Errorf("after the settle time: %+v, want one failed, one absent", sum)
	}
	for a, id := range map[addrs.Addr]string{failed.Addr: failed.MessageID, ghost: ghostID} {
		if s := f.get(a); s.Outcome != state.OutcomeRetry || s.MessageID != id {
			t.Errorf("%s: %s %q, want a retry keeping %q", a, s.Outcome, s.MessageID, id)
		}
	}
	if s := f.get(ghost); !s.Systemic {
		t.Errorf("%s: the 504's doubt, found absent, is no longer the run's failure", ghost)
	}
	// The resend keeps the failed attempt's id in the history.
	f.mustSend(failed.Addr, phoneOf(0), "")
	s = f.get(failed.Addr)
	if len(s.History) != 1 || s.History[0].MessageID != failed.MessageID || s.MessageID == failed.MessageID {
		t.Errorf("after the resend: %+v, want the failed id in the history", s)
	}
}

// statuslessIgnoringFilter serves listings whose items carry no status and
// a server that ignores the status filter, both of which the docs allow.
func statuslessIgnoringFilter(f *fixture) *briq.Client {
	return f.proxy(proxy{edit: stripStatus, query: func(q url.Values) { q.Del("status") }})
}

// TestUnknownSearchedWithoutStatus: a send answered 504 without an id is
// found by the search even when list items carry no status and the status
// filter is ignored; it is not called absent because nothing said failed.
func TestUnknownSearchedWithoutStatus(t *testing.T) {
	f := newFixture(t, nil)
	var sends []state.Send
	for i := range 4 {
		sends = append(sends, f.sendUnder(sandbox.Faults{AcceptThen504: 1}, i))
	}
	f.advance(11 * time.Minute)
	sum := f.refresh(statuslessIgnoringFilter(f), f.opts())
	if sum.Found != 4 || sum.Absent != 0 || sum.Failed != 0 {
		t.Errorf("summary %+v, want 4 found", sum)
	}
	ids := map[string]string{}
	for _, m := range f.srv.Stats().Messages {
		ids[m.To] = m.ID
	}
	for _, before := range sends {
		if s := f.get(before.Addr); s.Outcome != state.OutcomeAccepted || s.MessageID != ids[s.Phone] {
			t.Errorf("%s: %s %q, want accepted with the sandbox's %q", s.Addr, s.Outcome, s.MessageID, ids[s.Phone])
		}
	}
}

// TestUnknownIncompleteListing: when the conversations of a phone cannot be
// listed to the end, its unknown send stays unknown with a note saying what
// failed, and the run goes on with the other phones.
func TestUnknownIncompleteListing(t *testing.T) {
	f := newFixture(t, nil)
	f.sendUnder(sandbox.Faults{AcceptThen504: 1}, 0)
	f.sendUnder(sandbox.Faults{AcceptThen504: 1}, 1)
	f.advance(11 * time.Minute)
	broken := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/whatsapp/conversations" && r.URL.Query().Get("recipient") == phoneOf(0) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}})
	sum := f.refresh(broken, f.opts())
	if sum.Incomplete != 1 || sum.Found != 1 || sum.Absent != 0 {
		t.Errorf("summary %+v: want one incomplete, one found", sum)
	}
	s := f.get(addr("offer", 0))
	if s.Outcome != state.OutcomeUnknown || !strings.Contains(s.ErrorMessage, "listing the conversations of "+phoneOf(0)+" failed") {
		t.Errorf("%+v: want unknown, saying which listing failed", s)
	}
	// The next refresh, with the listing back, decides.
	if sum := f.refresh(nil, f.opts()); sum.Found != 1 {
		t.Errorf("second refresh: %+v, want it found", sum)
	}
}

// TestUnknownAnsweredWithoutID: a send answered 202 with message_id null
// (the OpenAPI makes it nullable) is in doubt, and found by the search.
func TestUnknownAnsweredWithoutID(t *testing.T) {
	f := newFixture(t, nil)
	before := f.sendUnder(sandbox.Faults{NullID: 1}, 0)
	if before.MessageID != "" {
		t.Fatalf("message_id %q recorded from an answer without one", before.MessageID)
	}
	f.advance(11 * time.Minute)
	if sum := f.refresh(nil, f.opts()); sum.Found != 1 || sum.Absent != 0 {
		t.Errorf("summary %+v, want it found", sum)
	}
	if s := f.get(before.Addr); s.Outcome != state.OutcomeAccepted || s.MessageID == "" {
		t.Errorf("%s: %s %q, want accepted with the sandbox's id", s.Addr, s.Outcome, s.MessageID)
	}
}

// TestUnknownSearchedInG1Conversations: sends answered 504 without an id
// are found when the conversations are listed in G1's shape (no envelope,
// the number with a leading "+", no recipient filter): the workspace's
// conversations are read once for all their phones, not once per phone.
func TestUnknownSearchedInG1Conversations(t *testing.T) {
	const n = 150 // two pages of conversations
	f := newFixture(t, nil)
	for i := range n {
		f.sendUnder(sandbox.Faults{AcceptThen504: 1}, i)
	}
	f.advance(11 * time.Minute)
	if err := f.srv.SetFaults(sandbox.Faults{G1Conversations: true}); err != nil {
		t.Fatal(err)
	}
	var pages atomic.Int64
	counting := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/whatsapp/conversations" {
			pages.Add(1)
		}
		return false
	}})
	if sum := f.refresh(counting, f.opts()); sum.Found != n || sum.Absent != 0 || sum.Incomplete != 0 {
		t.Errorf("summary %+v, want %d found", sum, n)
	}
	if got := pages.Load(); got != 2 {
		t.Errorf("%d pages of conversations read for %d phones, want the workspace's 2, once", got, n)
	}
	if st := f.srv.Stats(); st.Accepted != n || len(st.Duplicates) != 0 {
		t.Errorf("sandbox: %d accepted, duplicates %v", st.Accepted, st.Duplicates)
	}
}

// TestUnknownSearchedThroughAMovingListing: G1's conversations listing
// takes no recipient filter, so the search for a send in doubt walks every
// conversation of the workspace, most recently active first (the order is
// not documented). The send's own thread gets a message while the walk is
// between pages: it moves to the first page, already read, and the walk
// never sees it. The send stays unknown, the listing having changed under
// the walk, instead of being found absent and sent again; a later refresh,
// the listing still, decides.
func TestUnknownSearchedThroughAMovingListing(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Silent = new(1.0) })
	doubt := f.sendUnder(sandbox.Faults{AcceptThen504: 1}, 0)
	for i := 1; i <= 150; i++ { // two pages of conversations
		f.advance(time.Second) // the doubt's thread is the least recently active
		f.mustSend(addr("offer", i), phoneOf(i), "")
	}
	f.advance(11 * time.Minute)
	if err := f.srv.SetFaults(sandbox.Faults{G1Conversations: true}); err != nil {
		t.Fatal(err)
	}
	pages := 0
	moving := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/whatsapp/conversations" {
			if pages++; pages == 2 {
				f.mustSend(addr("other", 0), phoneOf(0), "") // another send into the doubt's thread
			}
		}
		return false
	}})
	sum := f.refresh(moving, f.opts())
	if sum.Absent != 0 || sum.Incomplete != 1 {
		t.Errorf("summary %+v: want it incomplete, not absent", sum)
	}
	if s := f.get(doubt.Addr); s.Outcome != state.OutcomeUnknown || !strings.Contains(s.ErrorMessage, "changed while it was read") {
		t.Errorf("%s: %s %q, want unknown, saying the listing changed", s.Addr, s.Outcome, s.ErrorMessage)
	}
	// Read again without interference, the thread shows the doubt's
	// message beside the other send's, which that send claims.
	if sum := f.refresh(nil, f.opts()); sum.Found != 1 || sum.Absent != 0 {
		t.Errorf("second refresh %+v: want it found", sum)
	}
	if s := f.get(doubt.Addr); s.Outcome != state.OutcomeAccepted || s.MessageID == "" {
		t.Errorf("%s: %s %q after the second refresh, want accepted with its id", s.Addr, s.Outcome, s.MessageID)
	}
}

// TestUnknownInAClosedConversation: Briq's reference says the message
// listing covers the workspace's active conversations. A send answered 504
// without an id, whose conversation has closed by the time refresh looks
// for it (ListActiveOnly), is in no listing: it stays unknown, with a note
// saying the listing leaves its conversation out, instead of being found
// absent and sent again. Listed again, it is found.
func TestUnknownInAClosedConversation(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Silent = new(1.0) })
	before := f.sendUnder(sandbox.Faults{AcceptThen504: 1}, 0)
	f.advance(25 * time.Hour) // the template's window closes
	if err := f.srv.SetFaults(sandbox.Faults{ListActiveOnly: true}); err != nil {
		t.Fatal(err)
	}
	sum := f.refresh(nil, f.opts())
	if sum.Absent != 0 || sum.Incomplete != 1 {
		t.Errorf("summary %+v: want it incomplete, not absent", sum)
	}
	s := f.get(before.Addr)
	if s.Outcome != state.OutcomeUnknown || !strings.Contains(s.ErrorMessage, "leaves that conversation's messages out") {
		t.Errorf("%s: %s %q, want unknown, saying the listing leaves its conversation out", s.Addr, s.Outcome, s.ErrorMessage)
	}
	if err := f.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	if sum := f.refresh(nil, f.opts()); sum.Found != 1 {
		t.Errorf("with the conversation listed: %+v, want it found", sum)
	}
	if s := f.get(before.Addr); s.Outcome != state.OutcomeAccepted {
		t.Errorf("%s: %s, want accepted", s.Addr, s.Outcome)
	}
	if st := f.srv.Stats(); st.Accepted != 1 || len(st.Duplicates) != 0 {
		t.Errorf("sandbox: %d accepted, duplicates %v", st.Accepted, st.Duplicates)
	}
}

// TestFollowIgnoredStatusFilter: list items without status from a server
// that ignores the status filter must not move every send to the last
// status asked for (failed); the contradiction is noticed and the sends'
// statuses are looked up one by one instead.
func TestFollowIgnoredStatusFilter(t *testing.T) {
	const n = 10
	f := newFixture(t, nil)
	f.campaign(n, false)
	f.advance(6 * time.Second)
	sum := f.refresh(statuslessIgnoringFilter(f), f.opts())
	if sum.Lookups != n || sum.Statuses != n {
		t.Errorf("summary %+v, want %d statuses from %d lookups", sum, n, n)
	}
	for i := range n {
		if s := f.get(addr("offer", i)); s.ProviderStatus != state.StatusDelivered {
			t.Errorf("%s is %s, want delivered", s.Addr, s.ProviderStatus)
		}
	}
}

// TestNotFoundNeedsAWorkingLookup: a 404 for an unknown send's own
// message_id makes it absent only when the lookup finds the messages that
// exist. Behind a proxy that answers 404 to every lookup (a wrong path), the
// send stays unknown, and the note says why; through the sandbox itself,
// which finds the accepted send's message, it is absent.
func TestNotFoundNeedsAWorkingLookup(t *testing.T) {
	f := newFixture(t, nil)
	f.mustSend(addr("offer", 0), phoneOf(0), "")
	ghost := addr("offer", 1)
	if err := f.store.RecordIntent(state.Intent{Addr: ghost, Phone: phoneOf(1)}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RecordResult(state.Result{Addr: ghost, Outcome: state.OutcomeUnknown, MessageID: uuid.NewString(), ErrorCode: "HTTP_504"}); err != nil {
		t.Fatal(err)
	}
	f.advance(refresh.DefaultSettle + time.Minute)

	blind := f.blindLookups()
	sum := f.refresh(blind, f.opts())
	if sum.Absent != 0 || sum.Incomplete != 1 {
		t.Errorf("behind the proxy: %+v, want the send left unknown (incomplete)", sum)
	}
	if s := f.get(ghost); s.Outcome != state.OutcomeUnknown || !strings.Contains(s.ErrorMessage, "is not found either, so the 404 proves nothing") {
		t.Errorf("behind the proxy: %s (%s), want unknown with a note saying why", s.Outcome, s.ErrorMessage)
	}

	if sum := f.refresh(nil, f.opts()); sum.Absent != 1 {
		t.Errorf("through the sandbox: %+v, want the send absent", sum)
	}
	if s := f.get(ghost); s.Outcome != state.OutcomeRetry {
		t.Errorf("through the sandbox: %s, want a retry", s.Outcome)
	}
}

// TestNotFoundWithoutControl: with no accepted send in the state to check
// the lookup with, a 404 for an unknown send's own message_id proves
// nothing: behind a proxy answering 404 to every lookup, the send, whose
// message the provider holds, stays unknown instead of being due again.
func TestNotFoundWithoutControl(t *testing.T) {
	f := newFixture(t, nil)
	held := f.lostTemplate(1)
	a := addr("offer", 1)
	if err := f.store.RecordIntent(state.Intent{Addr: a, Phone: phoneOf(1)}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeUnknown, MessageID: held.MessageID, ErrorCode: "HTTP_500"}); err != nil {
		t.Fatal(err)
	}
	f.advance(refresh.DefaultSettle + time.Minute)
	blind := f.blindLookups()
	if sum := f.refresh(blind, f.opts()); sum.Absent != 0 || sum.Incomplete != 1 {
		t.Errorf("behind the proxy: %+v, want the send left unknown", sum)
	}
	if s := f.get(a); s.Outcome != state.OutcomeUnknown || !strings.Contains(s.ErrorMessage, "no message is known to exist") {
		t.Errorf("%s (%s), want unknown with a note saying why", s.Outcome, s.ErrorMessage)
	}
	if sum := f.refresh(nil, f.opts()); sum.Found != 1 {
		t.Errorf("through the sandbox: %+v, want it found", sum)
	}
}

// blindLookups returns a client whose message lookups are answered 404
// whatever the id, as a wrong path or a proxy in front of Briq would.
func (f *fixture) blindLookups() *briq.Client {
	return f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/v1/whatsapp/messages/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"detail":"Not Found"}`))
			return true
		}
		return false
	}})
}

// TestRefusedLater: Meta's per-user marketing limit (131049) arriving after
// Briq accepted the template makes the send deferred, due again a day
// later with its message_id kept, as when the send's answer carries the
// code (SPEC §7): an accepted send; a send in doubt whose lookup finds its
// message failed so; and an accepted send an earlier ujumbe recorded
// failed with it. Whether Briq gives the reason as error_code or as one
// "error" or "reason" object (the docs name no field for it), and when the listing
// gives no status, so that the failure shows only in a status-filtered
// listing, without its reason, which the lookup then gives.
func TestRefusedLater(t *testing.T) {
	for name, reads := range map[string]sandbox.Faults{
		"error_code":          {},
		"derived_error":       {DerivedError: true},
		"derived_reason":      {DerivedReason: true},
		"list_without_status": {ListWithoutStatus: true},
	} {
		t.Run(name, func(t *testing.T) { testRefusedLater(t, reads) })
	}
}

func testRefusedLater(t *testing.T, reads sandbox.Faults) {
	f := newFixture(t, nil)
	for i := range 3 {
		f.mustSend(addr("hello", i), phoneOf(i), "")
	}
	limit := reads
	limit.MarketingLimit, limit.MarketingLimitLate = 1, true
	if err := f.srv.SetFaults(limit); err != nil {
		t.Fatal(err)
	}
	ids := []string{f.mustSend(addr("offer", 0), phoneOf(0), "").MessageID, "", f.mustSend(addr("offer", 2), phoneOf(2), "").MessageID}
	doubt := limit
	doubt.AcceptThen500 = 1
	ids[1] = f.sendUnder(doubt, 1).MessageID
	f.advance(11 * time.Minute)
	if err := f.srv.SetFaults(reads); err != nil { // sendUnder cleared them
		t.Fatal(err)
	}
	// What an earlier ujumbe recorded: the status, not the deferral.
	if err := f.store.Refresh(state.Update{Addr: addr("offer", 2), ProviderStatus: state.StatusFailed, ErrorCode: "131049"}); err != nil {
		t.Fatal(err)
	}

	sum := f.refresh(nil, f.opts())
	if sum.Deferred != 3 || sum.Failed != 0 || sum.Found != 0 {
		t.Errorf("summary %+v: want 3 deferred", sum)
	}
	for i, id := range ids {
		s := f.get(addr("offer", i))
		if s.Outcome != state.OutcomeDeferred || s.MessageID != id || s.ErrorCode != "131049" || !s.ResultAt.Equal(f.srv.Now()) || s.Systemic {
			t.Errorf("%s: %s %q code %q at %s systemic %t; want deferred now with %q and 131049", s.Addr, s.Outcome, s.MessageID, s.ErrorCode, s.ResultAt, s.Systemic, id)
		}
		if s := f.get(addr("hello", i)); s.Outcome != state.OutcomeAccepted || s.ProviderStatus == state.StatusFailed {
			t.Errorf("%s: %s %s; the day's first template was not refused", s.Addr, s.Outcome, s.ProviderStatus)
		}
	}
	if sum := f.refresh(nil, f.opts()); sum.Deferred != 0 {
		t.Errorf("a second refresh deferred %d again", sum.Deferred)
	}
}

// TestTwoQuestionsUnpaired: two questions in one conversation, answers
// given without paired_message_id (-unpaired-replies), and the tap
// answering the first arrives after the second was sent. It belongs to
// the question that offered the tapped button (Options.Offers), not to the
// latest: the first question's branch follows, and the second records only
// its own answer.
func TestTwoQuestionsUnpaired(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) {
		o.UnpairedReplies, o.ReplyDelay = true, sandbox.ReplyDelay{Min: 5 * time.Minute, Max: 5 * time.Minute}
		o.Answers = map[string]float64{"yes": 1, "b": 1}
	})
	hello := f.mustSend(addr("offer", 0), phoneOf(0), "")
	f.advance(time.Second)
	q1 := addr("ask", 0)
	f.mustSend(q1, phoneOf(0), hello.ConversationID) // buttons yes/no
	f.advance(2 * time.Minute)
	q2 := addr("ask2", 0)
	if err := f.store.RecordIntent(state.Intent{Addr: q2, Phone: phoneOf(0), Kind: state.KindInteractive}); err != nil {
		t.Fatal(err)
	}
	ab := json.RawMessage(`{"type":"button","body":{"text":"Size?"},"action":{"buttons":[` +
		`{"type":"reply","reply":{"id":"a","title":"A"}},{"type":"reply","reply":{"id":"b","title":"B"}}]}}`)
	res, err := f.client.SendInteractive(context.Background(), &briq.InteractiveRequest{ConversationID: hello.ConversationID, Interactive: ab})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.RecordResult(state.Result{Addr: q2, Outcome: state.OutcomeAccepted, MessageID: res.MessageID, ConversationID: res.ConversationID}); err != nil {
		t.Fatal(err)
	}
	f.advance(20 * time.Minute)
	opts := f.opts()
	opts.Offers = func(s state.Send) ([]string, bool) {
		switch s.Addr {
		case q1:
			return []string{"yes", "no"}, true
		case q2:
			return []string{"a", "b"}, true
		}
		return nil, false
	}
	f.refresh(nil, opts)
	if r := f.get(q1).Reply; r == nil || r.ID != "yes" {
		t.Errorf("the first question's answer: %+v, want yes", r)
	}
	if r := f.get(q2).Reply; r == nil || r.ID != "b" {
		t.Errorf("the second question's answer: %+v, want b, its own", r)
	}
}
