package refresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// progress is the part of a send that refresh changes.
type progress struct {
	Status               state.ProviderStatus
	DeliveredAt, ReadAt  time.Time
	Reply                *state.Reply
	Outcome              state.Outcome
	MessageID, ConvID    string
	ErrorCode, ErrorText string
}

func progressOf(s state.Send) progress {
	return progress{s.ProviderStatus, s.DeliveredAt, s.ReadAt, s.Reply, s.Outcome, s.MessageID, s.ConversationID, s.ErrorCode, s.ErrorMessage}
}

// expectedReply asks the sandbox, through the per-message endpoint, for the
// answer paired with the send at a.
func (f *fixture) expectedReply(a addrs.Addr) *state.Reply {
	f.t.Helper()
	d, err := f.client.GetMessage(context.Background(), f.get(a).MessageID)
	if err != nil {
		f.t.Fatal(err)
	}
	if d.Reply == nil {
		return nil
	}
	c, err := briq.ParseReplyContent(d.Reply.Content)
	if err != nil {
		f.t.Fatal(err)
	}
	return &state.Reply{ID: c.ID, Title: c.Title, Text: c.Text, At: d.Reply.CreatedAt.Time, MessageID: d.Reply.ID}
}

// TestRepliesInTheWholeLayout: button answers stored as WhatsApp's whole
// inbound message (the docs leave the layout of content open) land on the
// question they answer with the button's id, as in the other layout.
func TestRepliesInTheWholeLayout(t *testing.T) {
	const n = 20
	f := newFixture(t, func(o *sandbox.Options) { o.WholeReplies = true })
	f.campaign(n, true)
	f.advance(11 * time.Minute)
	if sum := f.refresh(nil, f.opts()); sum.Replies != n {
		t.Errorf("summary %+v, want %d replies", sum, n)
	}
	answers := map[string]int{}
	for i := range n {
		if s := f.get(addr("ask", i)); s.Reply != nil {
			answers[s.Reply.ID]++
		}
	}
	if answers["yes"] == 0 || answers["no"] == 0 || answers["yes"]+answers["no"] != n {
		t.Errorf("answers %v: want both buttons among %d answers", answers, n)
	}
}

// TestStatusesAndReplies follows a template and an interactive follow-up to
// 20 recipients as the sandbox clock moves: statuses move forward with the
// time they were first seen, answers land on the follow-up they answer.
func TestStatusesAndReplies(t *testing.T) {
	const n = 20
	f := newFixture(t, nil)
	f.campaign(n, true)

	sum := f.refresh(nil, f.opts())
	if diff := cmp.Diff(refresh.Summary{Requests: 2}, sum); diff != "" {
		t.Errorf("refresh before anything happened (-want +got):\n%s", diff)
	}

	f.advance(6 * time.Second)
	sum = f.refresh(nil, f.opts())
	if sum.Statuses != 2*n || sum.Replies != 0 {
		t.Errorf("after 6s: %+v, want %d statuses and no replies", sum, 2*n)
	}
	delivered := f.srv.Now()
	for i := range n {
		for _, m := range []string{"offer", "ask"} {
			s := f.get(addr(m, i))
			want := progress{Status: state.StatusDelivered, DeliveredAt: delivered, Outcome: state.OutcomeAccepted,
				MessageID: s.MessageID, ConvID: s.ConversationID}
			if diff := cmp.Diff(want, progressOf(s)); diff != "" {
				t.Fatalf("%s after 6s (-want +got):\n%s", s.Addr, diff)
			}
		}
	}

	f.advance(11 * time.Minute)
	sum = f.refresh(nil, f.opts())
	if sum.Statuses != 2*n || sum.Replies != n {
		t.Errorf("after 11m: %+v, want %d statuses and %d replies", sum, 2*n, n)
	}
	read := f.srv.Now()
	answers := map[string]int{}
	for i := range n {
		for _, m := range []string{"offer", "ask"} {
			a := addr(m, i)
			s := f.get(a)
			want := progress{Status: state.StatusRead, DeliveredAt: delivered, ReadAt: read, Outcome: state.OutcomeAccepted,
				MessageID: s.MessageID, ConvID: s.ConversationID, Reply: f.expectedReply(a)}
			if diff := cmp.Diff(want, progressOf(s)); diff != "" {
				t.Fatalf("%s after 11m (-want +got):\n%s", a, diff)
			}
			if m == "ask" {
				answers[s.Reply.ID]++
			}
		}
	}
	if answers["yes"] == 0 || answers["no"] == 0 || answers["yes"]+answers["no"] != n {
		t.Errorf("answers %v: want both buttons among %d answers", answers, n)
	}

	// Every status is final: only the inbound listing is read, for late
	// answers and opt-outs.
	sum = f.refresh(nil, f.opts())
	if diff := cmp.Diff(refresh.Summary{Requests: 1}, sum); diff != "" {
		t.Errorf("a refresh with nothing new (-want +got):\n%s", diff)
	}
}

// messagePage is the page size refresh asks for.
const messagePage = 200

// stripStatus is a proxy edit for a provider whose listing, like Briq's
// documented item, has no status field.
func stripStatus(_ url.Values, item map[string]any) bool {
	delete(item, "status")
	return true
}

// TestListingWithoutStatus checks that statuses come from status-filtered
// listings when the items carry none, and that a status filter the server
// ignored cannot move a send to the filter's status.
func TestListingWithoutStatus(t *testing.T) {
	const n = 10
	f := newFixture(t, nil)
	f.campaign(n, false)
	f.advance(6 * time.Second)
	client := f.proxy(proxy{edit: stripStatus})
	sum := f.refresh(client, f.opts())
	// One unfiltered pass, one per status not yet reached (sent, delivered,
	// read, failed), one inbound pass.
	if sum.Statuses != n || sum.Requests != 6 {
		t.Errorf("summary %+v, want %d statuses in 6 requests", sum, n)
	}
	for i := range n {
		if s := f.get(addr("offer", i)); s.ProviderStatus != state.StatusDelivered {
			t.Errorf("%s is %s, want delivered", s.Addr, s.ProviderStatus)
		}
	}

	// A server that ignores the status filter, whose filtered items carry
	// their status.
	ignoring := f.proxy(proxy{
		edit: func(q url.Values, item map[string]any) bool {
			if q.Get("status") == "" {
				delete(item, "status")
			}
			return true
		},
		query: func(q url.Values) { q.Del("status") },
	})
	sum = f.refresh(ignoring, f.opts())
	if sum.Statuses != 0 || sum.Requests != 4 {
		t.Errorf("summary %+v: want no status moved, in 4 requests", sum)
	}
}

// TestRequestBound follows 10,000 outstanding sends (2,000 with -short):
// statuses and answers of all of them must cost a few listing pages, not
// one request per send, with or without statuses in the listing.
func TestRequestBound(t *testing.T) {
	n, bound := 10000, 200
	if testing.Short() {
		n, bound = 2000, 40
	}
	f := newFixture(t, func(o *sandbox.Options) { o.OptOut = 0.5 })
	f.campaign(n, false)
	f.advance(11 * time.Minute)

	sum := f.refresh(f.proxy(proxy{edit: stripStatus}), f.opts())
	t.Logf("%d sends, no status in the listing: %+v", n, sum)
	if sum.Requests > bound {
		t.Errorf("%d requests for %d sends, want at most %d", sum.Requests, n, bound)
	}
	if sum.Statuses != n || sum.Lookups != 0 || sum.NotReached != 0 {
		t.Errorf("summary %+v: want %d statuses, no lookups", sum, n)
	}
	stops := 0
	for s := range f.store.State().Sends(addrs.Pattern{}) {
		if s.ProviderStatus != state.StatusRead {
			t.Fatalf("%s is %s, want read", s.Addr, s.ProviderStatus)
		}
		if s.Reply != nil {
			stops++
			if _, ok := f.store.State().OptOut(s.Phone); !ok || s.Reply.Text != "STOP" {
				t.Fatalf("%s answered %+v but %s is not opted out", s.Addr, s.Reply, s.Phone)
			}
		}
	}
	if stops != sum.Replies || stops != sum.OptOuts || stops < n/3 {
		t.Errorf("%d STOP answers in the state; summary %+v", stops, sum)
	}

	// Every status is final: only the inbound listing is read again.
	f.advance(time.Hour)
	sum = f.refresh(nil, f.opts())
	t.Logf("%d sends, nothing new: %+v", n, sum)
	if want := (stops + messagePage - 1) / messagePage; sum.Requests != want || sum.Statuses != 0 || sum.Replies != 0 || sum.OptOuts != 0 {
		t.Errorf("second refresh: %+v, want %d requests and nothing new", sum, want)
	}
}

// TestUnknownFound sends with every connection dropped after the sandbox
// accepted the message: refresh must find each message, record its id, and
// follow it like any other send.
func TestUnknownFound(t *testing.T) {
	const n = 12
	f := newFixture(t, nil)
	for i := range n {
		res := f.mustSend(addr("offer", i), phoneOf(i), "")
		if i%3 == 0 {
			f.srv.SetFaults(sandbox.Faults{DropAfterAccept: 1})
		}
		if _, err := f.send(addr("ask", i), phoneOf(i), res.ConversationID); (err == nil) != (i%3 != 0) {
			t.Fatalf("send %d: %v", i, err)
		}
		f.srv.SetFaults(sandbox.Faults{})
	}
	f.advance(11 * time.Minute)
	sum := f.refresh(nil, f.opts())
	if sum.Found != n/3 || sum.Absent != 0 || len(sum.Ambiguous) != 0 || sum.TooRecent != 0 {
		t.Errorf("summary %+v, want %d found", sum, n/3)
	}
	stats := f.srv.Stats()
	if len(stats.Duplicates) != 0 {
		t.Fatalf("duplicates: %v", stats.Duplicates)
	}
	want := map[string]bool{}
	for _, m := range stats.Messages {
		want[m.ID] = true
	}
	for i := range n {
		for _, m := range []string{"offer", "ask"} {
			s := f.get(addr(m, i))
			if s.Outcome != state.OutcomeAccepted || !want[s.MessageID] || s.ProviderStatus != state.StatusRead {
				t.Errorf("%s: %s, message %q, status %s; want accepted, a sandbox message, read", s.Addr, s.Outcome, s.MessageID, s.ProviderStatus)
			}
			delete(want, s.MessageID)
			if m == "ask" && !cmp.Equal(s.Reply, f.expectedReply(s.Addr)) {
				t.Errorf("%s: reply %+v, want %+v", s.Addr, s.Reply, f.expectedReply(s.Addr))
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("sandbox messages no send claims: %v", want)
	}
}

// TestUnknownResolution covers the other branches of the matching rule.
func TestUnknownResolution(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	intent := func(a addrs.Addr, phone string, age time.Duration) {
		t.Helper()
		if err := f.store.RecordIntent(state.Intent{Addr: a, Phone: phone, At: f.srv.Now().Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(time.Hour)

	// 0: never messaged; the intent is old enough: absent.
	intent(addr("offer", 0), phoneOf(0), 10*time.Minute)
	// 1: never messaged, but the intent is too recent to tell.
	intent(addr("offer", 1), phoneOf(1), 30*time.Second)
	// 2: a conversation exists, but its only message is claimed: absent.
	res := f.mustSend(addr("offer", 2), phoneOf(2), "")
	intent(addr("ask", 2), phoneOf(2), 10*time.Minute)
	// 3: two messages no send claims (another tool wrote twice): ambiguous.
	intent(addr("offer", 3), phoneOf(3), 10*time.Minute)
	for range 2 {
		if _, err := f.client.SendMessage(ctx, &briq.MessageRequest{To: phoneOf(3), Type: briq.TypeTemplate,
			TemplateName: "welcome", Variables: map[string]string{"1": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	// 4: two unknown sends, one message that could be either: ambiguous.
	intent(addr("offer", 4), phoneOf(4), 10*time.Minute)
	f.srv.SetFaults(sandbox.Faults{DropAfterAccept: 1})
	if _, err := f.client.SendMessage(ctx, &briq.MessageRequest{To: phoneOf(4), Type: briq.TypeTemplate,
		TemplateName: "welcome", Variables: map[string]string{"1": "y"}}); err == nil {
		t.Fatal("the dropped send succeeded")
	}
	f.srv.SetFaults(sandbox.Faults{})
	intent(addrs.Addr{Campaign: "other", Message: "offer", Key: "k00004"}, phoneOf(4), 9*time.Minute)
	// 5: the only message failed at the provider: it reached nobody, so
	// the send is due again, with the failed message's id kept.
	intent(addr("offer", 5), phoneOf(5), 10*time.Minute)
	f.srv.SetFaults(sandbox.Faults{ProviderFail: 1})
	failed, err := f.client.SendMessage(ctx, &briq.MessageRequest{To: phoneOf(5), Type: briq.TypeTemplate,
		TemplateName: "welcome", Variables: map[string]string{"1": "z"}})
	if briq.ClassOf(err) != briq.ProviderFailed {
		t.Fatalf("provider failure: %v", err)
	}
	f.srv.SetFaults(sandbox.Faults{})

	sum := f.refresh(nil, f.opts())
	want := refresh.Summary{Absent: 2, Failed: 1, TooRecent: 1,
		Ambiguous: []addrs.Addr{addr("offer", 3), addr("offer", 4), {Campaign: "other", Message: "offer", Key: "k00004"}}}
	if diff := cmp.Diff(want, sum, cmpSummaryCounts); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	for a, want := range map[addrs.Addr]state.Outcome{
		addr("offer", 0): state.OutcomeRetry, addr("offer", 1): state.OutcomeUnknown,
		addr("ask", 2): state.OutcomeRetry, addr("offer", 3): state.OutcomeUnknown,
		addr("offer", 4): state.OutcomeUnknown, addr("offer", 5): state.OutcomeRetry,
	} {
		if got := f.get(a).Outcome; got != want {
			t.Errorf("%s is %s, want %s", a, got, want)
		}
	}
	if s := f.get(addr("offer", 2)); s.MessageID != res.MessageID {
		t.Errorf("the claimed send changed: %+v", s)
	}
	if s := f.get(addr("offer", 5)); s.MessageID != failed.MessageID || s.ProviderStatus != state.StatusFailed {
		t.Errorf("the send whose message failed: %+v, want message_id %s, failed", s, failed.MessageID)
	}
	// An absent send may be sent again, as apply would.
	f.mustSend(addr("offer", 0), phoneOf(0), "")
}

// cmpSummaryCounts compares Summaries without the request counts, which
// depend on the order of the rule's branches.
var cmpSummaryCounts = cmp.FilterPath(func(p cmp.Path) bool {
	name := p.Last().String()
	return name == ".Requests" || name == ".Lookups"
}, cmp.Ignore())

// TestOptOuts checks keywords: the default list, a configured one compared
// case-insensitively, and none.
func TestOptOuts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keywords []string
		want     int
	}{
		{"default", nil, 4},
		{"configured", []string{"  stop "}, 4},
		{"other word", []string{"QUIT"}, 0},
		{"none", []string{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *sandbox.Options) { o.OptOut = 1 })
			f.campaign(4, false)
			f.advance(11 * time.Minute)
			opts := f.opts()
			opts.OptOutKeywords = tc.keywords
			sum := f.refresh(nil, opts)
			if sum.OptOuts != tc.want || sum.Replies != 4 {
				t.Errorf("summary %+v, want %d opt-outs and 4 replies", sum, tc.want)
			}
			got := f.store.State().OptOuts()
			if len(got) != tc.want {
				t.Fatalf("%d opt-outs recorded, want %d", len(got), tc.want)
			}
			for i, o := range got {
				s := f.get(addr("offer", i))
				want := state.OptOut{Phone: phoneOf(i), At: s.Reply.At, Text: "STOP", MessageID: s.Reply.MessageID}
				if diff := cmp.Diff(want, o); diff != "" {
					t.Errorf("opt-out %d (-want +got):\n%s", i, diff)
				}
			}
			if sum := f.refresh(nil, opts); sum.OptOuts != 0 {
				t.Errorf("a second refresh recorded %d opt-outs again", sum.OptOuts)
			}
		})
	}
}

// TestReplyShapes feeds the WhatsApp Cloud API inbound shapes through the
// listing, without paired_message_id, so each answer is matched to the
// latest send of its conversation.
func TestReplyShapes(t *testing.T) {
	shapes := []struct {
		content string
		want    state.Reply
	}{
		{`{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}}`,
			state.Reply{ID: "yes", Title: "Yes please", Text: "Yes please"}},
		{`{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r2","title":"Tuesday","description":"9-12"}}}`,
			state.Reply{ID: "r2", Title: "Tuesday", Text: "Tuesday"}},
		{`{"type":"button","button":{"payload":"MORE","text":"Tell me more"}}`,
			state.Reply{ID: "MORE", Title: "Tell me more", Text: "Tell me more"}},
		{`{"type":"text","text":{"body":"  Unsubscribe "}}`,
			state.Reply{Text: "  Unsubscribe "}},
		{`{"type":"image","image":{"id":"media-1"}}`, state.Reply{}},
	}
	f := newFixture(t, nil)
	var convs []string
	for i := range shapes {
		convs = append(convs, f.mustSend(addr("offer", i), phoneOf(i), "").ConversationID)
	}
	// The follow-ups are the latest sends of their conversations.
	f.advance(time.Second)
	for i, conv := range convs {
		f.mustSend(addr("ask", i), phoneOf(i), conv)
	}
	f.advance(11 * time.Minute)
	shapeOf := map[string]int{}
	for i, conv := range convs {
		shapeOf[conv] = i
	}
	client := f.proxy(proxy{edit: func(q url.Values, item map[string]any) bool {
		if item["is_outbound"] == false {
			item["content"] = json.RawMessage(shapes[shapeOf[item["conversation_id"].(string)]].content)
			delete(item, "paired_message_id")
		}
		return true
	}})
	sum := f.refresh(client, f.opts())
	if sum.Replies != len(shapes) || sum.OptOuts != 1 {
		t.Errorf("summary %+v, want %d replies and 1 opt-out", sum, len(shapes))
	}
	for i, sh := range shapes {
		if s := f.get(addr("offer", i)); s.Reply != nil {
			t.Errorf("%s got the answer meant for the follow-up: %+v", s.Addr, s.Reply)
		}
		s := f.get(addr("ask", i))
		want := f.expectedReply(s.Addr)
		want.ID, want.Title, want.Text = sh.want.ID, sh.want.Title, sh.want.Text
		if diff := cmp.Diff(want, s.Reply); diff != "" {
			t.Errorf("%s (-want +got):\n%s", sh.content, diff)
		}
	}
	if _, ok := f.store.State().OptOut(phoneOf(3)); !ok {
		t.Errorf("%q did not opt %s out", shapes[3].content, phoneOf(3))
	}
}

// TestAnswerMatching checks which send an answer belongs to when the
// listing does not pair it (the latest send created before it in its
// conversation), and that the earliest answer counts whatever the order
// of the listing.
func TestAnswerMatching(t *testing.T) {
	const n = 3
	// Each template is answered "STOP" within 10 minutes; the follow-up,
	// sent after that, is answered with a button.
	setup := func() *fixture {
		f := newFixture(t, func(o *sandbox.Options) { o.OptOut = 1 })
		var convs []string
		for i := range n {
			convs = append(convs, f.mustSend(addr("offer", i), phoneOf(i), "").ConversationID)
		}
		f.advance(11 * time.Minute)
		for i, conv := range convs {
			f.mustSend(addr("ask", i), phoneOf(i), conv)
		}
		f.advance(11 * time.Minute)
		return f
	}
	isInbound := func(item map[string]any) bool { return item["is_outbound"] == false }

	t.Run("unpaired", func(t *testing.T) {
		f := setup()
		client := f.proxy(proxy{edit: func(_ url.Values, item map[string]any) bool {
			if isInbound(item) {
				delete(item, "paired_message_id")
			}
			return true
		}})
		if sum := f.refresh(client, f.opts()); sum.Replies != 2*n || sum.OptOuts != n {
			t.Errorf("summary %+v", sum)
		}
		for i := range n {
			for _, m := range []string{"offer", "ask"} {
				a := addr(m, i)
				if got, want := f.get(a).Reply, f.expectedReply(a); !cmp.Equal(got, want) {
					t.Errorf("%s: reply %+v, want %+v", a, got, want)
				}
			}
		}
	})

	t.Run("unpaired after the statuses are final", func(t *testing.T) {
		f := newFixture(t, func(o *sandbox.Options) {
			o.ReplyDelay = sandbox.ReplyDelay{Min: 5 * time.Minute, Max: 6 * time.Minute}
		})
		var convs []string
		for i := range n {
			convs = append(convs, f.mustSend(addr("offer", i), phoneOf(i), "").ConversationID)
		}
		f.advance(time.Second)
		for i, conv := range convs {
			f.mustSend(addr("ask", i), phoneOf(i), conv)
		}
		f.advance(2 * time.Minute)
		if sum := f.refresh(nil, f.opts()); sum.Statuses != 2*n || sum.Replies != 0 {
			t.Fatalf("before the answers: %+v", sum)
		}
		f.advance(10 * time.Minute)
		client := f.proxy(proxy{edit: func(_ url.Values, item map[string]any) bool {
			if isInbound(item) {
				delete(item, "paired_message_id")
			}
			return true
		}})
		// The outbound listing is read for the creation times alone.
		if sum := f.refresh(client, f.opts()); sum.Replies != n || sum.Requests != 2 {
			t.Errorf("summary %+v, want %d replies in 2 requests", sum, n)
		}
		for i := range n {
			a := addr("ask", i)
			if got, want := f.get(a).Reply, f.expectedReply(a); want == nil || !cmp.Equal(got, want) {
				t.Errorf("%s: reply %+v, want %+v", a, got, want)
			}
		}
	})

	t.Run("earliest", func(t *testing.T) {
		f := setup()
		offerOf := map[string]string{}
		for i := range n {
			offerOf[f.get(addr("ask", i)).MessageID] = f.get(addr("offer", i)).MessageID
		}
		// Both answers are paired with the template, listed oldest first.
		client := f.proxy(proxy{drops: true, oldestFirst: true, edit: func(_ url.Values, item map[string]any) bool {
			if id, ok := item["paired_message_id"].(string); ok && isInbound(item) && offerOf[id] != "" {
				item["paired_message_id"] = offerOf[id]
			}
			return true
		}})
		if sum := f.refresh(client, f.opts()); sum.Replies != n {
			t.Errorf("summary %+v", sum)
		}
		for i := range n {
			if r := f.get(addr("offer", i)).Reply; r == nil || r.Text != "STOP" {
				t.Errorf("offer %d: reply %+v, want the earlier STOP", i, r)
			}
			if r := f.get(addr("ask", i)).Reply; r != nil {
				t.Errorf("ask %d: reply %+v, want none", i, r)
			}
		}
	})
}

// TestLookups hides some messages from the workspace listing, as Briq may
// for inactive conversations: those sends are fetched one by one, at most
// MaxLookups of them.
func TestLookups(t *testing.T) {
	const n, hidden, maxLookups = 10, 5, 3
	f := newFixture(t, nil)
	f.campaign(n, true)
	f.advance(11 * time.Minute)
	hide := map[string]bool{}
	for i := range hidden {
		hide[f.get(addr("offer", i)).ConversationID] = true
	}
	client := f.proxy(proxy{drops: true, edit: func(q url.Values, item map[string]any) bool {
		return q.Get("conversation_id") != "" || !hide[item["conversation_id"].(string)]
	}})
	opts := f.opts()
	opts.MaxLookups = maxLookups
	sum := f.refresh(client, opts)
	if sum.Lookups != maxLookups || sum.NotReached != 2*hidden-maxLookups || sum.Statuses != 2*n-(2*hidden-maxLookups) {
		t.Errorf("summary %+v", sum)
	}
	// The rest follow, newest first, on later refreshes.
	lookups, runs := sum.Lookups, 1
	for sum.NotReached > 0 && runs < 10 {
		sum = f.refresh(client, opts)
		lookups += sum.Lookups
		runs++
	}
	if lookups != 2*hidden || runs != 4 {
		t.Errorf("%d lookups in %d refreshes, want %d in 4", lookups, runs, 2*hidden)
	}
	for i := range n {
		for _, m := range []string{"offer", "ask"} {
			s := f.get(addr(m, i))
			if s.ProviderStatus != state.StatusRead || (m == "ask") != (s.Reply != nil) {
				t.Errorf("%s: %s, reply %+v", s.Addr, s.ProviderStatus, s.Reply)
			}
			if m == "ask" && !cmp.Equal(s.Reply, f.expectedReply(s.Addr)) {
				t.Errorf("%s: reply %+v, want %+v", s.Addr, s.Reply, f.expectedReply(s.Addr))
			}
		}
	}
}

// TestRetries checks that transient read failures are retried and
// counted, and that others stop the run with the error.
func TestRetries(t *testing.T) {
	f := newFixture(t, nil)
	f.campaign(3, false)
	f.advance(time.Minute)
	var calls atomic.Int64
	flaky := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		case 2:
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}})
	sum := f.refresh(flaky, f.opts())
	if sum.Requests != 4 || sum.Statuses != 3 {
		t.Errorf("summary %+v: want 2 failed and 2 good requests, 3 statuses", sum)
	}

	denied := f.proxy(proxy{fail: func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		return true
	}})
	f.advance(time.Hour)
	sum, err := refresh.Run(context.Background(), denied, f.store, f.opts())
	if briq.ClassOf(err) != briq.Fatal || sum.Requests != 1 {
		t.Errorf("401: %+v, %v", sum, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := refresh.Run(ctx, f.client, f.store, f.opts()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// TestLookBack leaves sends older than the look-back alone: their
// statuses are not read, only the inbound messages listed (one page), for
// opt-outs.
func TestLookBack(t *testing.T) {
	f := newFixture(t, nil)
	f.campaign(2, false)
	f.advance(48 * time.Hour)
	opts := f.opts()
	opts.LookBack = 24 * time.Hour
	if sum := f.refresh(nil, opts); sum.Requests != 1 || sum.Statuses != 0 || sum.Replies != 0 {
		t.Errorf("sends older than the look-back were followed: %+v", sum)
	}
	opts.LookBack = 0
	if sum := f.refresh(nil, opts); sum.Statuses != 2 {
		t.Errorf("with the default look-back: %+v", sum)
	}
	if got := slices.Collect(f.store.State().Sends(addrs.Pattern{})); got[0].ProviderStatus != state.StatusRead {
		t.Errorf("status %s, want read", got[0].ProviderStatus)
	}
}

// TestTargets: with Targets, refresh records the statuses and answers of
// the sends under them alone, and resolves the unknown sends of the phones
// that have one under them, whole: the unknown send of another campaign on
// the same phone still competes for the message there, which neither may
// then take; a phone whose only unknown send is not under them is left.
func TestTargets(t *testing.T) {
	const n = 10
	f := newFixture(t, nil)
	f.campaign(n, true)
	f.advance(11 * time.Minute)
	before := map[addrs.Addr]state.Send{}
	for i := range n {
		before[addr("offer", i)] = f.get(addr("offer", i))
	}
	ask := addrs.Pattern{Campaign: "launch", Message: "ask"}
	opts := f.opts()
	opts.Targets = []addrs.Pattern{ask}
	sum := f.refresh(nil, opts)
	if sum.Statuses != n || sum.Replies != n {
		t.Errorf("refresh -target=%s: %+v, want %d statuses and %d replies", ask, sum, n, n)
	}
	for i := range n {
		if s := f.get(addr("ask", i)); s.ProviderStatus != state.StatusRead || !cmp.Equal(s.Reply, f.expectedReply(s.Addr)) {
			t.Errorf("%s: %s, reply %+v; want read, %+v", s.Addr, s.ProviderStatus, s.Reply, f.expectedReply(s.Addr))
		}
		if s := f.get(addr("offer", i)); !cmp.Equal(s, before[s.Addr]) {
			t.Errorf("%s, not under the target, changed:\n%s", s.Addr, cmp.Diff(before[s.Addr], s))
		}
	}
	if sum := f.refresh(nil, f.opts()); sum.Statuses != n || sum.Replies != 0 {
		t.Errorf("then without targets: %+v, want the %d statuses of offer and no reply", sum, n)
	}

	// Unknown sends: two on one phone, one message that could be either;
	// one on another phone, not under the target.
	ctx := context.Background()
	other := func(i int) addrs.Addr {
		return addrs.Addr{Campaign: "other", Message: "offer", Key: fmt.Sprintf("k%05d", i)}
	}
	intent := func(a addrs.Addr, phone string) {
		t.Helper()
		if err := f.store.RecordIntent(state.Intent{Addr: a, Phone: phone, At: f.srv.Now().Add(-10 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(time.Hour)
	intent(addr("offer", 20), phoneOf(20))
	f.srv.SetFaults(sandbox.Faults{DropAfterAccept: 1})
	if _, err := f.client.SendMessage(ctx, &briq.MessageRequest{To: phoneOf(20), Type: briq.TypeTemplate,
		TemplateName: "welcome", Variables: map[string]string{"1": "y"}}); err == nil {
		t.Fatal("the dropped send succeeded")
	}
	f.srv.SetFaults(sandbox.Faults{})
	intent(other(20), phoneOf(20))
	intent(other(21), phoneOf(21)) // never sent: absent, were it resolved
	opts.Targets = []addrs.Pattern{{Campaign: "launch"}}
	sum = f.refresh(nil, opts)
	want := refresh.Summary{Ambiguous: []addrs.Addr{addr("offer", 20), other(20)}}
	if diff := cmp.Diff(want, sum, cmpSummaryCounts); diff != "" {
		t.Errorf("unknown sends under -target=campaign.launch (-want +got):\n%s", diff)
	}
	if got := f.get(other(21)).Outcome; got != state.OutcomeUnknown {
		t.Errorf("%s, on a phone with no unknown send under the target, is %s; want it left unknown", other(21), got)
	}
}

// TestRepliesWithoutThread: sends answered without a conversation_id (the
// bare object of Briq's G3 send pages) get their answers and opt-outs all
// the same, and the state learns their thread from the outbound listing:
// an answer paired with its question through the question; one without
// paired_message_id (Briq does not say how answers pair) through the
// thread.
func TestRepliesWithoutThread(t *testing.T) {
	for _, unpaired := range []bool{false, true} {
		t.Run(fmt.Sprintf("unpaired=%t", unpaired), func(t *testing.T) {
			const n = 40
			f := newFixture(t, func(o *sandbox.Options) {
				o.OptOut, o.UnpairedReplies, o.Faults.BareAnswer = 0.5, unpaired, 1
			})
			f.campaign(n, false)
			f.advance(11 * time.Minute)
			sum := f.refresh(nil, f.opts())
			stops := 0
			for s := range f.store.State().Sends(addrs.Pattern{}) {
				if s.ConversationID == "" {
					t.Errorf("%s: the thread was not learnt", s.Addr)
				}
				if s.Reply == nil {
					continue
				}
				stops++
				if _, ok := f.store.State().OptOut(s.Phone); !ok || s.Reply.Text != "STOP" {
					t.Errorf("%s answered %+v but %s is not opted out", s.Addr, s.Reply, s.Phone)
				}
			}
			if stops < n/4 || sum.OptOuts != stops || sum.Replies != stops {
				t.Errorf("%d STOP answers in the state (summary %+v); the sandbox's half of %d answer STOP", stops, sum, n)
			}
		})
	}
}

// TestUnpairedButtonAnswer: an answer without paired_message_id (Briq does
// not say how answers pair) that taps a button belongs to the latest
// interactive send before it in its thread, not to a text sent after the
// question (a reminder) and before the answer.
func TestUnpairedButtonAnswer(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) {
		o.UnpairedReplies, o.ReplyDelay = true, sandbox.ReplyDelay{Min: 5 * time.Minute, Max: 5 * time.Minute}
	})
	hello := f.mustSend(addr("offer", 0), phoneOf(0), "")
	f.advance(time.Second)
	ask := addr("ask", 0)
	f.mustSend(ask, phoneOf(0), hello.ConversationID)
	f.advance(time.Minute)
	reminder := addr("reminder", 0)
	if err := f.store.RecordIntent(state.Intent{Addr: reminder, Phone: phoneOf(0), Kind: state.KindText}); err != nil {
		t.Fatal(err)
	}
	res, err := f.client.SendMessage(context.Background(), &briq.MessageRequest{ConversationID: hello.ConversationID, Type: briq.TypeText, Body: "Still there?"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.RecordResult(state.Result{Addr: reminder, Outcome: state.OutcomeAccepted, MessageID: res.MessageID, ConversationID: res.ConversationID}); err != nil {
		t.Fatal(err)
	}
	f.advance(10 * time.Minute)
	if sum := f.refresh(nil, f.opts()); sum.Replies != 1 {
		t.Errorf("summary %+v: want one reply", sum)
	}
	if s := f.get(ask); s.Reply == nil || s.Reply.ID == "" {
		t.Errorf("the question has reply %+v, want the button tapped", s.Reply)
	}
	if s := f.get(reminder); s.Reply != nil {
		t.Errorf("the reminder has the question's answer %+v", s.Reply)
	}
}

// TestFoundAtItsTime: a send in doubt that refresh finds hours later (by
// its own message_id, or by searching the phone's conversations) is
// recorded as accepted when Briq created its message, not when refresh
// found it: its follow-ups' delay and its 24h window count from then.
func TestFoundAtItsTime(t *testing.T) {
	f := newFixture(t, nil)
	for i, fault := range []sandbox.Faults{{AcceptThen500: 1}, {DropAfterAccept: 1}} {
		f.srv.SetFaults(fault)
		if _, err := f.send(addr("offer", i), phoneOf(i), ""); err == nil {
			t.Fatalf("send %d under %+v succeeded", i, fault)
		}
		f.srv.SetFaults(sandbox.Faults{})
		f.advance(time.Minute)
	}
	f.advance(3 * time.Hour)
	if sum := f.refresh(nil, f.opts()); sum.Found != 2 {
		t.Fatalf("summary %+v, want 2 found", sum)
	}
	created := map[string]time.Time{}
	for _, m := range f.srv.Stats().Messages {
		created[m.ID] = m.AcceptedAt
	}
	for i := range 2 {
		s := f.get(addr("offer", i))
		if want := created[s.MessageID]; s.Outcome != state.OutcomeAccepted || !s.ResultAt.Equal(want.Truncate(time.Millisecond)) {
			t.Errorf("%s: %s at %v, want accepted at its message's creation, %v", s.Addr, s.Outcome, s.ResultAt, want)
		}
	}
}
