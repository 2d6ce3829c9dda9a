package apply

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ujumbe/ujumbe/briq"
)

// Breaker decides when failures are frequent enough to stop an apply
// before it burns through the list (SPEC §4.5). Only systemic failures
// count (see counts): a list with many numbers that are not on WhatsApp
// is not a reason to stop.
type Breaker struct {
	// Window is how many recent outcomes the failure share is taken over.
	Window int
	// MinSamples is how many outcomes the window needs before the share
	// counts; a quarter of the window when zero.
	MinSamples int
	// MaxShare is the failure share in the window that stops the apply.
	MaxShare float64
	// MaxConsecutive failures in a row stop the apply; 0 disables it.
	MaxConsecutive int
}

// DefaultBreaker stops at 10 failures in a row, or at 20% failures over the
// last 200 outcomes once 50 are in: the provider block's defaults
// (max_failure_rate, failure_window, max_consecutive_failures).
var DefaultBreaker = Breaker{Window: 200, MinSamples: 50, MaxShare: 0.20, MaxConsecutive: 10}

// counts says which outcomes the breaker hears of, and how. A failure that
// says something about the system — Briq or WhatsApp unavailable, answers
// lost, requests not reaching Briq, the account refused — counts as a
// failure. A failure of one recipient counts as nothing at all: a number
// that is not on WhatsApp or is invalid, a validation error for that send
// (422, recorded as failed for good with its code, plan class x), a
// follow-up whose conversation is gone (404) or whose window has closed.
// Those neither fill the window nor break a run of failures, so that a
// list with 30% bad numbers runs through while a provider outage still
// stops the run after a few sends. A 400 or another 4xx that is not a 422
// (a parameter mismatch, a request Briq cannot take) is the same for every
// send of the message, so it counts.
//
// One safety net remains: maxRecipientRun failures of single recipients in a
// row, with nothing accepted between them, are not about the recipients
// (say, a VALIDATION_ERROR that every send gets), and stop the run too.
func counts(err error) (sample, failed bool) {
	switch briq.ClassOf(err) {
	case briq.Accepted:
		return true, false
	case briq.WindowClosed, briq.MarketingLimited:
		return false, false
	case briq.Permanent:
		if recipientFailure(err) {
			return false, false
		}
	}
	return true, true
}

// recipientFailure reports whether err is a permanent failure of this
// recipient's send: a 422 (unreachable, invalid number, validation) or a
// 404 for its conversation.
func recipientFailure(err error) bool {
	var be *briq.Error
	return briq.ClassOf(err) == briq.Permanent && errors.As(err, &be) && (be.HTTPStatus == 422 || be.HTTPStatus == 404)
}

// maxRecipientRun is how many failures of single recipients in a row, with
// nothing accepted, stop a run.
const maxRecipientRun = 50

// failureLabel names a counted failure for the breaker's message: Briq's
// error code, else the HTTP status, else the class ("in doubt").
func failureLabel(err error) string {
	var be *briq.Error
	switch {
	case errors.As(err, &be) && be.Code != "":
		return be.Code
	case errors.As(err, &be) && be.HTTPStatus != 0:
		return fmt.Sprintf("HTTP_%d", be.HTTPStatus)
	}
	return briq.ClassOf(err).String()
}

// BreakerError says why the breaker stopped a run; errors.Is(err,
// ErrBreaker) is true for it.
type BreakerError struct {
	Failures, Outcomes int // counted failures and outcomes in the window
	Window             int
	MaxShare           float64
	Consecutive        int // failures in a row when it tripped
	MaxConsecutive     int
	// Code is the most frequent failure in the window, Count how often.
	Code  string
	Count int
	// Ignored is how many failures of single recipients the run had,
	// which do not count.
	Ignored int
	// RecipientRun is set when maxRecipientRun failures of single
	// recipients in a row stopped the run; Code and Count are then theirs.
	RecipientRun int
}

func (e *BreakerError) Error() string {
	if e.RecipientRun > 0 {
		return fmt.Sprintf("%v: %d sends in a row failed for their recipients and none was accepted, most often %s (%d of %d), so the failures are not about the recipients; check the message and the provider settings",
			ErrBreaker, e.RecipientRun, e.Code, e.Count, e.RecipientRun)
	}
	why := fmt.Sprintf("%d of the last %d counted outcomes failed or are in doubt (window %d; the limit is %.0f%%, max_failure_rate = %g)",
		e.Failures, e.Outcomes, e.Window, 100*e.MaxShare, e.MaxShare)
	if e.MaxConsecutive > 0 && e.Consecutive >= e.MaxConsecutive {
		why = fmt.Sprintf("%d sends in a row failed or are in doubt (max_consecutive_failures = %d); %d of the last %d counted outcomes (window %d)",
			e.Consecutive, e.MaxConsecutive, e.Failures, e.Outcomes, e.Window)
	}
	s := fmt.Sprintf("%v: %s; most often %s (%d of %d)", ErrBreaker, why, e.Code, e.Count, e.Failures)
	if e.Ignored > 0 {
		s += fmt.Sprintf("; %d failures of single recipients (such as numbers not on WhatsApp) were recorded and not counted", e.Ignored)
	}
	return s
}

// Unwrap makes errors.Is(err, ErrBreaker) true.
func (e *BreakerError) Unwrap() error { return ErrBreaker }

// breaker tracks outcomes against a Breaker's thresholds.
type breaker struct {
	cfg Breaker

	mu          sync.Mutex
	ring        []string // "" = success, else the failure's label
	next, n     int
	failures    int
	consecutive int
	ignored     int
	run         map[string]int // labels of the recipient failures since the last success
	runLen      int
}

func newBreaker(cfg Breaker) *breaker {
	if cfg.Window <= 0 {
		cfg = DefaultBreaker
	}
	if cfg.MinSamples <= 0 {
		cfg.MinSamples = max(1, cfg.Window/4)
	}
	return &breaker{cfg: cfg, ring: make([]string, cfg.Window)}
}

// record adds the outcome of a send (err as the client returned it) and
// returns a *BreakerError when the apply must stop.
func (b *breaker) record(err error) error {
	sample, failed := counts(err)
	label := ""
	if failed {
		label = failureLabel(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case recipientFailure(err):
		b.ignored++
		if b.run == nil {
			b.run = map[string]int{}
		}
		b.run[failureLabel(err)]++
		if b.runLen++; b.runLen >= maxRecipientRun {
			code, count := dominant(b.run)
			return &BreakerError{RecipientRun: b.runLen, Code: code, Count: count, Ignored: b.ignored}
		}
	case err == nil:
		b.run, b.runLen = nil, 0
	}
	if !sample {
		return nil
	}
	if b.n == len(b.ring) && b.ring[b.next] != "" {
		b.failures--
	}
	b.ring[b.next] = label
	b.next = (b.next + 1) % len(b.ring)
	b.n = min(b.n+1, len(b.ring))
	if failed {
		b.failures++
		b.consecutive++
	} else {
		b.consecutive = 0
	}
	tripped := b.cfg.MaxConsecutive > 0 && b.consecutive >= b.cfg.MaxConsecutive ||
		b.n >= b.cfg.MinSamples && float64(b.failures)/float64(b.n) >= b.cfg.MaxShare
	if !tripped {
		return nil
	}
	byLabel := map[string]int{}
	for _, l := range b.ring[:b.n] {
		if l != "" {
			byLabel[l]++
		}
	}
	code, count := dominant(byLabel)
	return &BreakerError{Failures: b.failures, Outcomes: b.n, Window: b.cfg.Window, MaxShare: b.cfg.MaxShare,
		Consecutive: b.consecutive, MaxConsecutive: b.cfg.MaxConsecutive, Code: code, Count: count, Ignored: b.ignored}
}

// dominant returns the most frequent label of byLabel (the first in name
// order on a tie) and its count.
func dominant(byLabel map[string]int) (string, int) {
	best, n := "", 0
	for l, c := range byLabel {
		if c > n || c == n && l < best {
			best, n = l, c
		}
	}
	return best, n
}
