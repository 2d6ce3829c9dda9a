package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// Client is the part of the Briq client apply sends through.
type Client interface {
	SendMessage(ctx context.Context, req *briq.MessageRequest) (*briq.SendResult, error)
	SendInteractive(ctx context.Context, req *briq.InteractiveRequest) (*briq.SendResult, error)
}

// Journal is the part of the state store apply records sends in. Both
// methods return only once the record is durable.
type Journal interface {
	RecordIntent(in state.Intent) error
	RecordResult(r state.Result) error
}

// Options configure a run.
type Options struct {
	Rate        float64 // sends per second across all workers
	Burst       int     // limiter burst; 1 unless set
	Parallelism int     // concurrent requests; 16 unless set
	// SenderID is the G2 sender_id (a uuid) first contacts go out on, and
	// Sender the G3 sender number for interactive first contacts; empty
	// lets Briq pick the workspace's sender.
	SenderID, Sender string
	// RequestTimeout bounds one request; the client's default when zero.
	RequestTimeout time.Duration
	// NeverReachedRetries is how often a send that certainly never reached
	// Briq is tried again within the run (default 3).
	NeverReachedRetries int
	Breaker             Breaker
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress, when set, is called after every finished send (from any
	// worker, serialised).
	Progress func(Progress)
}

// Progress is a snapshot of a run for progress displays.
type Progress struct {
	Total, Done int
	Summary     Summary
	Rate        float64 // current limiter rate
	Started     time.Time
}

// Summary counts what a run did. Every item handed to Run ends up in
// exactly one of the counters, or in none when the run stopped first.
type Summary struct {
	Sent        int // accepted by Briq, message_id recorded
	Failed      int // permanently failed for the recipient
	Expired     int // the 24h window had closed (WINDOW_CLOSED)
	Unknown     int // outcome in doubt: left for refresh
	Retry       int // failed transiently; the next apply tries again
	Skipped     int // no longer due at send time (stop_at, send window)
	RateLimited int // 429 answers (each retried)
}

// Errors that stop a run; the returned error wraps one of them.
var (
	ErrFatal       = errors.New("the provider refused a send in a way that fails every send")
	ErrBreaker     = errors.New("too many sends are failing")
	ErrInterrupted = errors.New("interrupted")
	ErrJournal     = errors.New("the state could not be written")
)

// Run sends items (each of class Send or Retry) and records them in j. It
// returns when every item is done, or when ctx is cancelled (no new sends
// start; in-flight ones finish and are recorded), a fatal answer arrives or
// the breaker trips; then the error says why. The Summary is valid either way.
func Run(ctx context.Context, items []*plan.Item, c Client, j Journal, opts Options) (Summary, error) {
	if opts.Parallelism <= 0 {
		opts.Parallelism = 16
	}
	if opts.NeverReachedRetries <= 0 {
		opts.NeverReachedRetries = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &run{
		opts:     opts,
		client:   c,
		journal:  j,
		throttle: newThrottle(opts.Rate, opts.Burst, opts.Now),
		breaker:  newBreaker(opts.Breaker),
		queue:    newQueue(items),
		started:  opts.Now(),
		total:    len(items),
	}
	// Sends run on a context that the caller's cancellation does not reach,
	// so a request in flight at Ctrl-C finishes and its outcome is recorded.
	sendCtx := context.WithoutCancel(ctx)
	stopOnCancel := context.AfterFunc(ctx, func() { r.stop(ErrInterrupted) })
	defer stopOnCancel()

	var wg sync.WaitGroup
	for range opts.Parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, sendCtx)
		}()
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum, r.err
}

type run struct {
	opts     Options
	client   Client
	journal  Journal
	throttle *throttle
	breaker  *breaker
	queue    *queue
	started  time.Time
	total    int

	mu   sync.Mutex
	sum  Summary
	done int
	err  error // why the run stopped early
}

// stop ends the run early for reason; the first reason wins.
func (r *run) stop(reason error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = reason
	}
	r.mu.Unlock()
	r.queue.close()
}

func (r *run) worker(ctx, sendCtx context.Context) {
	for {
		w := r.queue.pop()
		if w == nil {
			return
		}
		if err := r.throttle.wait(ctx); err != nil {
			r.queue.finish(nil)
			return
		}
		r.queue.finish(r.send(sendCtx, w))
	}
}

// work is one item on its way.
type work struct {
	item         *plan.Item
	neverReached int // attempts that certainly never reached Briq
}

// send performs one attempt and returns w when it must be tried again.
func (r *run) send(ctx context.Context, w *work) *work {
	it := w.item
	now := r.opts.Now()
	if ok, _ := it.StillDue(now); !ok {
		r.count(func(s *Summary) { s.Skipped++ }, false, false)
		return nil
	}
	payload, diags := it.Message.Render(it.Recipient, it.Reply)
	if diags.HasErrors() || state.DigestOf([]byte(payload.Digest())) != it.Digest {
		// The plan rendered this content a moment ago: a difference is a bug,
		// and sending something other than what was planned is not an option.
		r.stop(fmt.Errorf("%w: content of %s changed after planning", ErrFatal, it.Addr))
		return nil
	}
	if err := r.journal.RecordIntent(state.Intent{Addr: it.Addr, Phone: it.Phone, Digest: it.Digest, At: now, Replace: it.Replace}); err != nil {
		r.stop(fmt.Errorf("%w: %v", ErrJournal, err))
		return nil
	}
	res, err := r.deliver(ctx, it, payload)
	result := state.Result{Addr: it.Addr, At: r.opts.Now()}
	if res != nil {
		result.MessageID, result.ConversationID = res.MessageID, res.ConversationID
		result.ProviderStatus, _ = state.ParseProviderStatus(res.Status)
	}
	var be *briq.Error
	if errors.As(err, &be) {
		result.ErrorCode, result.ErrorMessage = be.Code, be.Message
		if result.MessageID == "" {
			result.MessageID = be.MessageID
		}
		if result.ErrorCode == "" {
			result.ErrorCode = fmt.Sprintf("HTTP_%d", be.HTTPStatus)
		}
	} else if err != nil {
		result.ErrorMessage = err.Error()
	}
	class := briq.ClassOf(err)
	var again *work
	switch class {
	case briq.Accepted:
		result.Outcome = state.OutcomeAccepted
	case briq.RateLimited:
		result.Outcome = state.OutcomeRetry
		r.throttle.slowDown(be.RetryAfter)
		again = w
	case briq.NeverReached:
		result.Outcome = state.OutcomeRetry
		if w.neverReached++; w.neverReached <= r.opts.NeverReachedRetries {
			again = w
		}
	case briq.Permanent:
		result.Outcome = state.OutcomeFailed
	case briq.WindowClosed:
		result.Outcome = state.OutcomeExpired
	case briq.ProviderFailed, briq.Fatal:
		result.Outcome = state.OutcomeRetry
	default: // InDoubt, and anything unclassified
		result.Outcome = state.OutcomeUnknown
	}
	if err := r.journal.RecordResult(result); err != nil {
		r.stop(fmt.Errorf("%w: %v", ErrJournal, err))
		return nil
	}
	if class == briq.Fatal {
		r.stop(fmt.Errorf("%w: %s: %v", ErrFatal, it.Addr, err))
	}
	failed := class != briq.Accepted && class != briq.RateLimited && class != briq.WindowClosed
	r.count(func(s *Summary) {
		switch {
		case class == briq.RateLimited:
			s.RateLimited++
		case again != nil:
		case result.Outcome == state.OutcomeAccepted:
			s.Sent++
		case result.Outcome == state.OutcomeFailed:
			s.Failed++
		case result.Outcome == state.OutcomeExpired:
			s.Expired++
		case result.Outcome == state.OutcomeUnknown:
			s.Unknown++
		default:
			s.Retry++
		}
	}, again == nil, failed)
	if class == briq.Accepted {
		r.throttle.succeeded()
	}
	if again != nil && class == briq.NeverReached {
		time.Sleep(time.Duration(w.neverReached) * 500 * time.Millisecond)
	}
	return again
}

// count updates the summary, reports progress and feeds the breaker.
func (r *run) count(f func(*Summary), finished, failed bool) {
	r.mu.Lock()
	f(&r.sum)
	if finished {
		r.done++
	}
	p := Progress{Total: r.total, Done: r.done, Summary: r.sum, Rate: r.throttle.limit(), Started: r.started}
	if r.opts.Progress != nil {
		r.opts.Progress(p)
	}
	r.mu.Unlock()
	if r.breaker.record(failed) {
		r.stop(fmt.Errorf("%w: %d failed or in doubt among the last outcomes", ErrBreaker, r.breaker.failures))
	}
}

// deliver sends the request for it through the endpoint its kind uses:
// interactive messages through /messages/interactive, the rest through
// /messages; follow-ups into the thread of the first send.
func (r *run) deliver(ctx context.Context, it *plan.Item, p *config.Payload) (*briq.SendResult, error) {
	if r.opts.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.RequestTimeout)
		defer cancel()
	}
	if p.Kind == config.KindInteractive {
		req := &briq.InteractiveRequest{ConversationID: it.ConversationID, Interactive: p.Interactive}
		if req.ConversationID == "" {
			req.To, req.Sender = it.Phone, r.opts.Sender
		}
		return r.client.SendInteractive(ctx, req)
	}
	req := &briq.MessageRequest{
		ConversationID: it.ConversationID,
		Type:           p.Kind.String(),
		TemplateName:   p.TemplateName,
		Variables:      p.Variables,
		Body:           p.Body,
	}
	if p.Media != nil {
		req.MediaKind, req.MediaURL, req.Caption, req.Filename = p.Media.Kind, p.Media.URL, p.Media.Caption, p.Media.Filename
	}
	if req.ConversationID == "" {
		req.To, req.SenderID = it.Phone, r.opts.SenderID
	}
	return r.client.SendMessage(ctx, req)
}
