package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/state"
)

// TestFatalOfOneSendGivenUp is cron against a Briq that answers one send
// in a way briq classes Fatal but that is that send's alone (a bare 404
// {"detail":"Not Found"}, as for a follow-up whose conversation is gone).
// Fatal stops the run at once, so each run uses an attempt of the sends in
// flight only; the send is given up after MaxAttempts runs and the others
// go. Were Fatal the run's failure (Systemic), every run would send it
// first and stop, and the other customers would never be sent to.
func TestFatalOfOneSendGivenUp(t *testing.T) {
	cfg, store := cronSetup(t, 5)
	fatal := &briq.Error{Op: "send message", Class: briq.Fatal, HTTPStatus: 404, Message: "Not Found"}
	script := map[string][]error{}
	for range 100 {
		script[phone(0)] = append(script[phone(0)], fatal)
	}
	c := &fakeClient{script: script, requests: map[string]int{}}
	const runs = 3 * plan.DefaultMaxAttempts
	cron(t, cfg, store, c, nil, runs, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	s, _ := store.State().Get(addrOf("r0"))
	sent := 0
	for i := 1; i < 5; i++ {
		sent += c.requests[phone(i)]
	}
	if sent == 0 {
		t.Errorf("after %d cron runs: r0 tried %d times (%s, systemic %v), the 4 other customers never sent to: "+
			"a Fatal answer of one send is never given up and blocks the campaign for good", runs, c.requests[phone(0)], s.Outcome, s.Systemic)
	}
}

func addrOf(key string) addrs.Addr { return addrs.Addr{Campaign: "c", Message: "m", Key: key} }

// cronSetup writes a one-template campaign of n recipients and opens
// its state.
func cronSetup(t *testing.T, n int) (*config.Config, *state.Store) {
	t.Helper()
	cfg, dir := campaign(t, n)
	store, _, err := state.Open(context.Background(), filepath.Join(dir, "s.state"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return cfg, store
}

// cron runs plan and apply runs times, fifteen minutes apart, as cron
// would, each after a refresh through r when it is not nil, and returns the
// clock after the last. Apply's clock moves a second a look, past the
// throttle's pauses.
func cron(t *testing.T, cfg *config.Config, store *state.Store, c Client, r refresh.Client, runs int, now time.Time) time.Time {
	t.Helper()
	for run := range runs {
		now = now.Add(15 * time.Minute)
		at := now
		if r != nil {
			if _, err := refresh.Run(context.Background(), r, store, refresh.Options{Now: func() time.Time { return at }, RetryDelay: time.Millisecond}); err != nil {
				t.Fatalf("run %d: refresh: %v", run, err)
			}
		}
		p, diags := plan.Build(cfg, store.State(), now, plan.Options{Payloads: true})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var due []*plan.Item
		for i := range p.Items {
			if p.Items[i].Class.Sends() {
				due = append(due, &p.Items[i])
			}
		}
		var tick atomic.Int64
		_, err := Run(context.Background(), due, c, store, Options{Rate: 1000, Parallelism: 1, Breaker: DefaultBreaker,
			Now: func() time.Time { return at.Add(time.Duration(tick.Add(1)) * time.Second) }})
		if err != nil && !errors.Is(err, ErrFatal) && !errors.Is(err, ErrBreaker) {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	return now
}

// TestProviderOutageGivesUpNobody is TestOutageKeepsCustomers (command)
// with the outage in another form: WhatsApp unavailable behind Briq, every
// send answered 422 PROVIDER_UNAVAILABLE without a record. The breaker
// stops each run after 10 in a row; those attempts are the run's failures,
// and once the provider is back every customer gets the message.
func TestProviderOutageGivesUpNobody(t *testing.T) {
	const n = 30
	cfg, store := cronSetup(t, n)
	down := &briq.Error{Op: "send message", Class: briq.ProviderFailed, HTTPStatus: 422, Code: "PROVIDER_UNAVAILABLE", Message: "WhatsApp provider unavailable"}
	script := map[string][]error{}
	for i := range n {
		for range plan.DefaultMaxAttempts + 1 {
			script[phone(i)] = append(script[phone(i)], down)
		}
	}
	c := &fakeClient{script: script, requests: map[string]int{}}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now = cron(t, cfg, store, c, nil, plan.DefaultMaxAttempts+1, now)
	// Briq and WhatsApp are back.
	for k := range script {
		script[k] = nil
	}
	cron(t, cfg, store, c, nil, 3, now)
	var lost []string
	for s := range store.State().Sends(addrs.Pattern{}) {
		if s.Outcome != state.OutcomeAccepted {
			lost = append(lost, fmt.Sprintf("%s %s systemic=%v attempts=%d", s.Addr.Key, s.Outcome, s.Systemic, s.Attempts))
		}
	}
	if len(lost) > 0 {
		t.Errorf("after the provider outage, %d customers never got the message: %v", len(lost), lost)
	}
}

// fakeBriq answers sends to bad ("" = everyone) with answer(id) until up;
// the others are accepted. GET /messages/{id}: 404 for ids starting
// "gone-", else status failed with error_code code. Listings are empty.
type fakeBriq struct {
	mu       sync.Mutex
	n        int
	requests map[string]int
	bad      string
	answer   func(id string) error
	code     string
	up       bool
}

func (b *fakeBriq) SendMessage(_ context.Context, req *briq.MessageRequest) (*briq.SendResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	b.requests[req.To]++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", b.n)
	if !b.up && (b.bad == "" || b.bad == req.To) {
		err := b.answer(id)
		return &briq.SendResult{MessageID: briq.MessageIDOf(err)}, err
	}
	return &briq.SendResult{MessageID: id, ConversationID: "00000000-0000-4000-9000-000000000001", Status: "pending"}, nil
}
func (b *fakeBriq) SendInteractive(ctx context.Context, req *briq.InteractiveRequest) (*briq.SendResult, error) {
	return b.SendMessage(ctx, &briq.MessageRequest{To: req.To})
}
func (b *fakeBriq) GetMessage(_ context.Context, id string) (*briq.MessageDetail, error) {
	if strings.HasPrefix(id, "gone-") {
		return nil, &briq.Error{Op: "get message", Class: briq.Permanent, HTTPStatus: 404}
	}
	d := &briq.MessageDetail{}
	d.ErrorCode = briq.Text(b.code)
	d.ID, d.Status = id, cmp.Or(map[bool]string{true: briq.StatusFailed}[b.code != ""], briq.StatusDelivered)
	return d, nil
}
func (b *fakeBriq) ListMessages(context.Context, briq.MessageQuery) (*briq.Page[briq.Message], error) {
	return &briq.Page[briq.Message]{}, nil
}
func (b *fakeBriq) ListConversations(context.Context, briq.ConversationQuery) (*briq.Page[briq.Conversation], error) {
	return &briq.Page[briq.Conversation]{}, nil
}

// outageThenBack: 20 cron runs of c's outage, then 3 with Briq back; every
// customer must end accepted.
func outageThenBack(t *testing.T, c *fakeBriq) {
	cfg, store := cronSetup(t, 3)
	now := cron(t, cfg, store, c, c, 4*plan.DefaultMaxAttempts, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	c.up = true
	cron(t, cfg, store, c, c, 3, now)
	for s := range store.State().Sends(addrs.Pattern{}) {
		if s.Outcome != state.OutcomeAccepted {
			t.Errorf("given up after the outage: %s %s systemic=%v attempts=%d %s", s.Addr.Key, s.Outcome, s.Systemic, s.Attempts, s.ErrorCode)
		}
	}
}

// The docs' PROVIDER_UNAVAILABLE (§3, §14): 422 with a pollable failed record.
// TestDocumentedProviderUnavailableGivesUpNobody: WhatsApp unavailable
// as the docs have it, 422 PROVIDER_UNAVAILABLE with a pollable record
// whose status is failed; apply records the send in doubt, refresh finds
// the record failed as the answer said, and the attempt stays the run's.
func TestDocumentedProviderUnavailableGivesUpNobody(t *testing.T) {
	outageThenBack(t, &fakeBriq{requests: map[string]int{}, code: "PROVIDER_UNAVAILABLE", answer: func(id string) error {
		return &briq.Error{Op: "send message", Class: briq.ProviderFailed, HTTPStatus: 422, Code: "PROVIDER_UNAVAILABLE", MessageID: id}
	}})
}

// WHATSAPP_REAUTH_REQUIRED: "fatal for every send until fixed" (§14).
// TestReauthGivesUpNobody: WHATSAPP_REAUTH_REQUIRED is fatal for every
// send until the account is fixed; each cron run stops at its first send,
// whose attempt is the run's failure, not the send's.
func TestReauthGivesUpNobody(t *testing.T) {
	outageThenBack(t, &fakeBriq{requests: map[string]int{}, code: "WHATSAPP_REAUTH_REQUIRED", answer: func(id string) error {
		return &briq.Error{Op: "send message", Class: briq.Fatal, HTTPStatus: 422, Code: "WHATSAPP_REAUTH_REQUIRED", MessageID: id}
	}})
}

// One recipient's send fails the same way every time; the others go.
// SPEC's ! row: "sends it again (bounded attempts)".
// TestOneRecipientsFailureIsBounded: a failure of the run's kind that
// one recipient alone meets, run after run (a 5xx for that number, an
// answer without a message_id, a timeout), is not that send's own failure,
// but it ends: the send is given up after ten times its own attempts, and
// the other customers get theirs.
func TestOneRecipientsFailureIsBounded(t *testing.T) {
	for name, answer := range map[string]func(string) error{
		"500":                    func(string) error { return &briq.Error{Class: briq.InDoubt, HTTPStatus: 500} },
		"2xx without message_id": func(string) error { return &briq.Error{Class: briq.InDoubt, HTTPStatus: 200} },
		"timeout":                func(string) error { return &briq.Error{Class: briq.InDoubt, Err: context.DeadlineExceeded} },
	} {
		t.Run(name, func(t *testing.T) {
			const limit = 10 * plan.DefaultMaxAttempts // plan's allAttemptsFactor
			runs := limit + 5
			cfg, store := cronSetup(t, 3)
			c := &fakeBriq{requests: map[string]int{}, bad: phone(0), answer: answer}
			cron(t, cfg, store, c, c, runs, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
			s, _ := store.State().Get(addrOf("r0"))
			if s.Attempts != limit || c.requests[phone(0)] != limit {
				t.Errorf("r0: %d requests, %d attempts in %d cron runs, %s; want %d", c.requests[phone(0)], s.Attempts, runs, s.Outcome, limit)
			}
			for i := 1; i < 3; i++ {
				if c.requests[phone(i)] != 1 {
					t.Errorf("r%d: %d requests, want 1", i, c.requests[phone(i)])
				}
			}
		})
	}
}
