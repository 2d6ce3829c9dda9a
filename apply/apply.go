package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// DefaultRateLimitRetries bounds the 429 answers one send may meet within a
// run when Options.RateLimitRetries is zero.
const DefaultRateLimitRetries = 8

// MaxRepeatPause bounds the pause after which a send is repeated under the
// intent recorded before it. A send whose request is not answered stays in
// doubt for refresh's settle time (2 minutes at least) before another run
// may call it absent and send it again; a run that paused longer than that
// with its intent in flight (a long Retry-After), and lost its state's
// lock meanwhile (a pg session ended), would send it a second time.
// Repeated within the bound, the repeat goes before any other run may
// resend; past it, the attempt is recorded as not accepted, which needs
// the lock, and the send goes again under a new intent.
const MaxRepeatPause = time.Minute

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
	// NeverReachedRetries is how often a request that certainly never
	// reached Briq is repeated within the run (default 3).
	NeverReachedRetries int
	// RateLimitRetries is how often one send answered 429 without a
	// message_id is repeated within the run, each time after Retry-After
	// (default DefaultRateLimitRetries). When they are used up the send is
	// recorded as a retry, not accepted, and the next apply tries again;
	// so it is, at once, when Retry-After asks for a pause longer than
	// MaxRepeatPause. A 429 that names a message_id is never repeated: it
	// is in doubt.
	RateLimitRetries int
	Breaker          Breaker
	// Tier, when set, bounds the run's templates to what the number's
	// messaging tier still allows; sends beyond it are skipped.
	Tier *Budget
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress, when set, is called after every finished send (from any
	// worker, serialised).
	Progress func(Progress)
	// Skipped, when set, is told of every send not made because it was no
	// longer due at send time, and why (from any worker, serialised).
	Skipped func(it *plan.Item, reason string)
	// Recorded, when set, is told of every send's recorded result, once it
	// is durable (from any worker, serialised).
	Recorded func(it *plan.Item, r state.Result)
	// InFlight, when set, counts the sends whose intent is recorded and
	// whose result is not yet.
	InFlight *atomic.Int64
}

// Progress is a snapshot of a run for progress displays.
type Progress struct {
	Total, Done int
	Summary     Summary
	Rate        float64 // current limiter rate
}

// Summary counts what a run did. Every item handed to Run ends up in
// exactly one of the counters, or in none when the run stopped first.
type Summary struct {
	Sent        int `json:"sent"`         // accepted by Briq, message_id recorded
	Failed      int `json:"failed"`       // permanently failed for the recipient
	Expired     int `json:"expired"`      // the 24h window had closed (WINDOW_CLOSED)
	Unknown     int `json:"unknown"`      // outcome in doubt: left for refresh
	Retry       int `json:"retry"`        // failed transiently; the next apply tries again
	Deferred    int `json:"deferred"`     // Meta's per-user marketing limit (131049): due again a day later
	Skipped     int `json:"skipped"`      // no longer due at send time (stop_at, send window)
	RateLimited int `json:"rate_limited"` // 429 answers (each request repeated after Retry-After)
	// Unrecorded are the sends Briq gave a message_id whose result the
	// state could not record (the run stopped there): in the state they
	// are in doubt, and their ids are known only here until refresh finds
	// them again.
	Unrecorded []Unrecorded `json:"unrecorded,omitempty"`
}

// Unrecorded is a send whose message_id the state could not record.
type Unrecorded struct {
	Address   string `json:"address"`
	MessageID string `json:"message_id"`
}

// Errors that stop a run; the returned error wraps one of them.
var (
	ErrFatal       = errors.New("the provider refused a send in a way that fails every send")
	ErrBreaker     = errors.New("too many sends are failing")
	ErrInterrupted = errors.New("interrupted")
	ErrJournal     = errors.New("the state could not be written")
)

// Run sends items (each of class Send or Retry, from a plan built with
// plan.Options.Payloads, whose payloads it sends) and records them in j. It
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
	if opts.RateLimitRetries <= 0 {
		opts.RateLimitRetries = DefaultRateLimitRetries
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
		stopped:  make(chan struct{}),
		total:    len(items),
	}
	// Sends run on a context that the caller's cancellation does not reach,
	// so a request in flight at Ctrl-C finishes and its outcome is recorded.
	sendCtx := context.WithoutCancel(ctx)
	stopOnCancel := context.AfterFunc(ctx, func() { r.stop(ErrInterrupted) })
	defer stopOnCancel()

	work := make(chan *plan.Item)
	go func() {
		defer close(work)
		for _, it := range items {
			select {
			case work <- it:
			case <-r.stopped:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range opts.Parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if r.throttle.wait(ctx) != nil || r.isStopped() {
					continue // drain: the run is over
				}
				r.send(ctx, sendCtx, it)
			}
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
	stopped  chan struct{} // closed when the run must start no more sends
	total    int

	mu   sync.Mutex
	sum  Summary
	done int
	err  error // why the run stopped early
}

// stop ends the run early for reason; the first reason wins.
func (r *run) stop(reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = reason
		close(r.stopped)
	}
}

func (r *run) isStopped() bool {
	select {
	case <-r.stopped:
		return true
	default:
		return false
	}
}

// send makes one attempt at it: the intent, the request — repeated, under
// the same intent and within Options' bounds, while Briq answers 429
// without a message_id or the request certainly never reached it — and the
// result.
func (r *run) send(ctx, sendCtx context.Context, it *plan.Item) {
	now := r.opts.Now()
	if ok, why := it.StillDue(now); !ok {
		r.count(func(s *Summary) {
			s.Skipped++
			if r.opts.Skipped != nil {
				r.opts.Skipped(it, why)
			}
		}, false)
		return
	}
	// Before the intent: a send the tier has no room for stays unsent,
	// for the next plan to schedule.
	if !r.opts.Tier.take(it) {
		r.count(func(s *Summary) {
			s.Skipped++
			if r.opts.Skipped != nil {
				r.opts.Skipped(it, "daily_first_contacts: the tier's new conversations for the last 24h are used up")
			}
		}, false)
		return
	}
	// The payload is the one the plan rendered and digested: what is sent
	// is what the intent records, with no second rendering to differ.
	payload := it.Payload()
	if payload == nil {
		r.stop(fmt.Errorf("%w: %s has no content: the plan was built without plan.Options.Payloads", ErrFatal, it.Addr()))
		return
	}
	if err := r.journal.RecordIntent(state.Intent{Addr: it.Addr(), Phone: it.Phone(), Digest: it.Digest, Inputs: it.Inputs(), Variant: it.Variant(), Kind: plan.SendKind(it.Message),
		At: now, Replace: it.Replace}); err != nil {
		r.stop(fmt.Errorf("%w: %w", ErrJournal, err))
		return
	}
	if r.opts.InFlight != nil {
		// From the durable intent to the recorded result: what an
		// interrupt waits for, and what a second one leaves unknown.
		r.opts.InFlight.Add(1)
		defer r.opts.InFlight.Add(-1)
	}
	var res *briq.SendResult
	var err error
	intentAt := r.throttle.now()
	for neverReached, limited := 0, 0; ; {
		r.throttle.depart()
		res, err = r.deliver(sendCtx, it, payload)
		class := briq.ClassOf(err)
		var be *briq.Error
		if class == briq.RateLimited && errors.As(err, &be) {
			r.throttle.slowDown(be.RetryAfter)
			r.count(func(s *Summary) { s.RateLimited++ }, false)
		}
		// Repeat under the same intent only what briq's policy calls a
		// resend of a class that may be repeated at once, within bounds.
		again := class.Retryable() && briq.VerdictOf(err) == briq.Resend
		switch {
		case !again:
		case class == briq.RateLimited:
			limited++
			again = limited <= r.opts.RateLimitRetries
		default:
			neverReached++
			if again = neverReached <= r.opts.NeverReachedRetries; again {
				sleep(ctx, time.Duration(neverReached)*500*time.Millisecond)
			}
		}
		if !again || r.throttle.paused() > MaxRepeatPause {
			r.record(it, res, err)
			return
		}
		// Not accepted: wait for the next token like any other send. An
		// interrupt here records the attempt as not accepted, and so does
		// a wait that other workers' 429s drew out past the bound.
		if werr := r.throttle.wait(ctx); werr != nil || r.isStopped() || r.throttle.now().Sub(intentAt) > MaxRepeatPause {
			r.record(it, res, err)
			return
		}
	}
}

// record writes the outcome of it's attempt and acts on its class.
func (r *run) record(it *plan.Item, res *briq.SendResult, err error) {
	result := state.Result{Addr: it.Addr(), At: r.opts.Now()}
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
		if result.ErrorCode == "" && be.HTTPStatus != 0 {
			result.ErrorCode = fmt.Sprintf("HTTP_%d", be.HTTPStatus)
		}
		if result.ErrorMessage == "" && be.Err != nil {
			result.ErrorMessage = be.Err.Error() // no answer: what the transport said
		}
	} else if err != nil {
		result.ErrorMessage = err.Error()
	}
	class := briq.ClassOf(err)
	switch briq.VerdictOf(err) {
	case briq.Exists:
		result.Outcome = state.OutcomeAccepted
	case briq.Refused:
		result.Outcome = state.OutcomeFailed
	case briq.Closed:
		result.Outcome = state.OutcomeExpired
	case briq.Later:
		result.Outcome = state.OutcomeDeferred
	case briq.Resend:
		result.Outcome = state.OutcomeRetry
	default: // Doubt: refresh resolves it, by its message_id when it has one
		result.Outcome = state.OutcomeUnknown
	}
	// The run's failure, which does not use up the send's attempts; on a
	// send in doubt, for when refresh finds it never arrived.
	result.Systemic = briq.Systemic(err) && (result.Outcome == state.OutcomeRetry || result.Outcome == state.OutcomeUnknown)
	if class.Stops() {
		// Stop before recording, so no worker starts another request.
		r.stop(fmt.Errorf("%w: %s: %w", ErrFatal, it.Addr(), err))
	}
	if err := r.journal.RecordResult(result); err != nil {
		r.stop(fmt.Errorf("%w: %w", ErrJournal, err))
		if result.MessageID != "" {
			r.count(func(s *Summary) {
				s.Unrecorded = append(s.Unrecorded, Unrecorded{Address: it.Addr().String(), MessageID: result.MessageID})
			}, false)
		}
		return
	}
	r.count(func(s *Summary) {
		if r.opts.Recorded != nil {
			r.opts.Recorded(it, result)
		}
		switch result.Outcome {
		case state.OutcomeAccepted:
			s.Sent++
		case state.OutcomeFailed:
			s.Failed++
		case state.OutcomeExpired:
			s.Expired++
		case state.OutcomeUnknown:
			s.Unknown++
		case state.OutcomeDeferred:
			s.Deferred++
		default:
			s.Retry++
		}
	}, true)
	if class == briq.Accepted {
		r.throttle.succeeded()
	}
	if berr := r.breaker.record(err); berr != nil {
		r.stop(berr)
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// count updates the summary and reports progress; finished marks an item
// that is done with.
func (r *run) count(f func(*Summary), finished bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.sum)
	if finished {
		r.done++
	}
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Total: r.total, Done: r.done, Summary: r.sum, Rate: r.throttle.limit()})
	}
}

// deliver sends the request for it, plan's mapping of p (plan.Request),
// through the endpoint it goes to: interactive messages through
// /messages/interactive, the rest through /messages; follow-ups into the
// thread of the first send.
func (r *run) deliver(ctx context.Context, it *plan.Item, p *config.Payload) (*briq.SendResult, error) {
	if r.opts.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.RequestTimeout)
		defer cancel()
	}
	req := plan.NewRequest(p)
	if ir := req.Interactive; ir != nil {
		ir.ConversationID = it.ConversationID()
		if ir.ConversationID == "" {
			ir.To, ir.Sender = it.Phone(), r.opts.Sender
		}
		return r.client.SendInteractive(ctx, ir)
	}
	mr := req.Message
	mr.ConversationID = it.ConversationID()
	if mr.ConversationID == "" {
		mr.To, mr.SenderID = it.Phone(), r.opts.SenderID
	}
	return r.client.SendMessage(ctx, mr)
}
