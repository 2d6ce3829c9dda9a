package apply

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
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
	cron(t, cfg, store, c, runs, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
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

// cron runs plan and apply runs times, five minutes apart, as cron
// would, and returns the clock after the last.
func cron(t *testing.T, cfg *config.Config, store *state.Store, c *fakeClient, runs int, now time.Time) time.Time {
	t.Helper()
	for run := range runs {
		now = now.Add(5 * time.Minute)
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
		if len(due) == 0 {
			break
		}
		at := now
		_, err := Run(context.Background(), due, c, store, Options{Rate: 1000, Parallelism: 1, Breaker: DefaultBreaker, Now: func() time.Time { return at }})
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
	now = cron(t, cfg, store, c, plan.DefaultMaxAttempts+1, now)
	// Briq and WhatsApp are back.
	for k := range script {
		script[k] = nil
	}
	cron(t, cfg, store, c, 3, now)
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
