package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// fakeClient answers each send with the outcome its script gives for the
// recipient's phone, in order; an exhausted script accepts.
type fakeClient struct {
	mu       sync.Mutex
	script   map[string][]error
	requests map[string]int
	inFlight func() // called during each request, if set
}

func (f *fakeClient) answer(phone string) (*briq.SendResult, error) {
	f.mu.Lock()
	f.requests[phone]++
	n := f.requests[phone]
	var err error
	if s := f.script[phone]; len(s) >= n {
		err = s[n-1]
	}
	f.mu.Unlock()
	if f.inFlight != nil {
		f.inFlight()
	}
	if err != nil {
		var be *briq.Error
		res := &briq.SendResult{}
		if errors.As(err, &be) {
			res.MessageID = be.MessageID
		}
		return res, err
	}
	return &briq.SendResult{MessageID: fmt.Sprintf("m-%s-%d", phone, n), ConversationID: "c-" + phone, Status: "pending"}, nil
}

func (f *fakeClient) SendMessage(_ context.Context, req *briq.MessageRequest) (*briq.SendResult, error) {
	return f.answer(req.To)
}

func (f *fakeClient) SendInteractive(_ context.Context, req *briq.InteractiveRequest) (*briq.SendResult, error) {
	return f.answer(req.To)
}

// journal records what apply wrote, in order, per address.
type journal struct {
	mu       sync.Mutex
	events   map[string][]string
	fail     error
	failFrom int              // fail only from the failFrom-th record (1 the first) on, when set
	records  int              // records asked for
	onResult func(addrs.Addr) // called after a result is recorded, if set
}

func (j *journal) add(a addrs.Addr, e string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.records++
	if j.fail != nil && j.records >= j.failFrom {
		return j.fail
	}
	j.events[a.Key] = append(j.events[a.Key], e)
	return nil
}

func (j *journal) RecordIntent(in state.Intent) error { return j.add(in.Addr, "intent") }
func (j *journal) RecordResult(r state.Result) error {
	e := r.Outcome.String()
	if r.MessageID != "" {
		e += " " + r.MessageID
	}
	err := j.add(r.Addr, e)
	if j.onResult != nil {
		j.onResult(r.Addr)
	}
	return err
}

// campaign loads, from a directory it returns, a one-template campaign of
// n recipients, r0 … (phone(i)).
func campaign(t *testing.T, n int) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	csv := "id,phone\n"
	for i := range n {
		csv += fmt.Sprintf("r%d,25571%07d\n", i, i)
	}
	hcl := `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
campaign "c" {
  recipients = recipients.r
  message "m" {
    template  = "t"
    variables = { "1" = row.id }
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "r.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg, dir
}

// items plans n recipients of a one-template campaign.
func items(t *testing.T, n int) []*plan.Item {
	t.Helper()
	cfg, dir := campaign(t, n)
	st, _, err := state.Read(filepath.Join(dir, "none.state"))
	if err != nil {
		t.Fatal(err)
	}
	p, diags := plan.Build(cfg, st, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), plan.Options{Payloads: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out := make([]*plan.Item, len(p.Items))
	for i := range p.Items {
		out[i] = &p.Items[i]
	}
	return out
}

func phone(i int) string { return fmt.Sprintf("25571%07d", i) }

func TestOutcomes(t *testing.T) {
	errOf := func(class briq.Class, code, messageID string) error {
		return &briq.Error{Class: class, Code: code, MessageID: messageID, HTTPStatus: 422}
	}
	tests := []struct {
		name   string
		script []error
		want   []string
		sum    Summary
	}{
		{"accepted", nil, []string{"intent", "accepted m-PHONE-1"}, Summary{Sent: 1}},
		{"429 then accepted, under one intent", []error{&briq.Error{Class: briq.RateLimited, RetryAfter: time.Millisecond}},
			[]string{"intent", "accepted m-PHONE-2"}, Summary{Sent: 1, RateLimited: 1}},
		{"never reached then accepted", []error{&briq.Error{Class: briq.NeverReached}},
			[]string{"intent", "accepted m-PHONE-2"}, Summary{Sent: 1}},
		{"in doubt is unknown, not retried", []error{&briq.Error{Class: briq.InDoubt, HTTPStatus: 502}},
			[]string{"intent", "unknown"}, Summary{Unknown: 1}},
		{"window closed is expired", []error{errOf(briq.WindowClosed, "WINDOW_CLOSED", "")},
			[]string{"intent", "expired"}, Summary{Expired: 1}},
		{"validation is failed", []error{errOf(briq.Permanent, "VALIDATION_ERROR", "")},
			[]string{"intent", "failed"}, Summary{Failed: 1}},
		{"provider failure keeps its message_id, in doubt until polled", []error{errOf(briq.ProviderFailed, "SEND_FAILED", "m-failed")},
			[]string{"intent", "unknown m-failed"}, Summary{Unknown: 1}},
		{"provider failure without a record is retried next run", []error{errOf(briq.ProviderFailed, "SEND_FAILED", "")},
			[]string{"intent", "retry"}, Summary{Retry: 1}},
		{"429 with a message_id is in doubt, not repeated", []error{&briq.Error{Class: briq.RateLimited, MessageID: "m-limited"}},
			[]string{"intent", "unknown m-limited"}, Summary{Unknown: 1, RateLimited: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			its := items(t, 1)
			c := &fakeClient{script: map[string][]error{phone(0): tt.script}, requests: map[string]int{}}
			j := &journal{events: map[string][]string{}}
			sum, err := Run(context.Background(), its, c, j, Options{Rate: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "PHONE", phone(0)))
			}
			if diff := cmp.Diff(want, j.events["r0"]); diff != "" {
				t.Errorf("journal (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.sum, sum); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFatalStopsAtOnce: an answer that fails every send stops the run; no
// new request starts once it is recorded, beyond those other workers had
// already begun.
func TestFatalStopsAtOnce(t *testing.T) {
	for _, parallelism := range []int{1, 4} {
		t.Run(fmt.Sprint("parallelism=", parallelism), func(t *testing.T) {
			its := items(t, 200)
			script := map[string][]error{phone(5): {&briq.Error{Class: briq.Fatal, HTTPStatus: 401, Code: "UNAUTHORIZED"}}}
			c := &fakeClient{script: script, requests: map[string]int{}}
			j := &journal{events: map[string][]string{}}
			var afterFatal int
			j.onResult = func(a addrs.Addr) {
				if a.Key == "r5" {
					c.mu.Lock()
					afterFatal = -len(c.requests) // requests so far; those after are added below
					c.mu.Unlock()
				}
			}
			_, err := Run(context.Background(), its, c, j, Options{Rate: 100000, Parallelism: parallelism})
			if !errors.Is(err, ErrFatal) {
				t.Fatalf("error %v, want ErrFatal", err)
			}
			// The provider's answer stays reachable for the command.
			if be, ok := errors.AsType[*briq.Error](err); !ok || be.Code != "UNAUTHORIZED" {
				t.Errorf("error %v does not wrap the *briq.Error", err)
			}
			afterFatal += len(c.requests)
			if afterFatal > parallelism-1 {
				t.Errorf("%d requests started after the fatal answer was recorded, want at most the %d other workers' own", afterFatal, parallelism-1)
			}
			if parallelism == 1 && len(c.requests) != 6 {
				t.Errorf("one worker sent to %d recipients, want the 6 up to the fatal answer", len(c.requests))
			}
			for key, ev := range j.events {
				if len(ev) != 2 {
					t.Errorf("%s: journal %v, want an intent and a result", key, ev)
				}
			}
		})
	}
}

func TestBreakerStopsABurningCampaign(t *testing.T) {
	its := items(t, 300)
	script := map[string][]error{}
	for i := range 300 {
		script[phone(i)] = []error{&briq.Error{Class: briq.InDoubt, HTTPStatus: 500}}
	}
	c := &fakeClient{script: script, requests: map[string]int{}}
	j := &journal{events: map[string][]string{}}
	sum, err := Run(context.Background(), its, c, j, Options{Rate: 100000, Parallelism: 1})
	if !errors.Is(err, ErrBreaker) {
		t.Fatalf("error %v, want ErrBreaker", err)
	}
	if sum.Unknown != DefaultBreaker.MaxConsecutive {
		t.Errorf("%d sends went out before the breaker tripped, want %d", sum.Unknown, DefaultBreaker.MaxConsecutive)
	}
}

// TestInterruptFinishesInFlight cancels the run while sends are in flight:
// they finish and are recorded, and no new one starts.
func TestInterruptFinishesInFlight(t *testing.T) {
	its := items(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	var once sync.Once
	c := &fakeClient{script: map[string][]error{}, requests: map[string]int{}, inFlight: func() {
		once.Do(cancel)
		<-release
	}}
	j := &journal{events: map[string][]string{}}
	done := make(chan struct{})
	var sum Summary
	var err error
	go func() {
		sum, err = Run(ctx, its, c, j, Options{Rate: 100000, Parallelism: 3})
		close(done)
	}()
	time.Sleep(50 * time.Millisecond) // let the workers reach the gate
	close(release)
	<-done
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v, want ErrInterrupted", err)
	}
	if sum.Sent == 0 || sum.Sent > 3 {
		t.Errorf("%d sent, want the in-flight ones (1 to 3)", sum.Sent)
	}
	for key, ev := range j.events {
		if len(ev) != 2 || ev[1][:8] != "accepted" {
			t.Errorf("%s: journal %v, want intent then accepted", key, ev)
		}
	}
}

// TestJournalFailureStopsSending: when the state cannot be written, no
// request may leave without its intent on disk.
func TestJournalFailureStopsSending(t *testing.T) {
	its := items(t, 50)
	c := &fakeClient{script: map[string][]error{}, requests: map[string]int{}}
	diskFull := errors.New("disk full")
	j := &journal{events: map[string][]string{}, fail: diskFull}
	_, err := Run(context.Background(), its, c, j, Options{Rate: 100000})
	if !errors.Is(err, ErrJournal) || !errors.Is(err, diskFull) {
		t.Fatalf("error %v, want ErrJournal wrapping the journal's error", err)
	}
	if len(c.requests) != 0 {
		t.Errorf("%d requests left without a durable intent", len(c.requests))
	}
}

// TestUnrecordedIDs: a state that fails as a result is recorded (the disk,
// a lost pg session) stops the run; the message_id Briq gave that send is
// then in no state, and the summary keeps it, for the operator.
func TestUnrecordedIDs(t *testing.T) {
	its := items(t, 5)
	c := &fakeClient{script: map[string][]error{}, requests: map[string]int{}}
	diskFull := errors.New("disk full")
	j := &journal{events: map[string][]string{}, fail: diskFull, failFrom: 2} // the first intent is written
	sum, err := Run(context.Background(), its, c, j, Options{Rate: 100000, Parallelism: 1})
	if !errors.Is(err, ErrJournal) {
		t.Fatalf("error %v, want ErrJournal", err)
	}
	if len(c.requests) != 1 || len(sum.Unrecorded) != 1 || sum.Unrecorded[0].Address != its[0].Addr().String() || sum.Unrecorded[0].MessageID == "" {
		t.Fatalf("%d requests, unrecorded %+v; want the one send's address and message_id", len(c.requests), sum.Unrecorded)
	}
}
