package apply

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle is the one limiter every worker waits on, plus the shared pause
// that a 429 with Retry-After imposes. On a 429 the rate is halved; after
// each recoverAfter without one it grows back by a twentieth, up to the
// configured rate (additive increase, multiplicative decrease).
type throttle struct {
	lim          *rate.Limiter
	max          rate.Limit
	min          rate.Limit
	recoverAfter time.Duration
	now          func() time.Time

	mu        sync.Mutex
	pauseTill time.Time
	lastSlow  time.Time
}

func newThrottle(r float64, burst int, now func() time.Time) *throttle {
	if burst < 1 {
		burst = 1
	}
	return &throttle{
		lim:          rate.NewLimiter(rate.Limit(r), burst),
		max:          rate.Limit(r),
		min:          rate.Limit(r / 16),
		recoverAfter: 10 * time.Second,
		now:          now,
	}
}

// wait blocks until the caller may send: any pause has passed and the
// limiter grants a token. It fails only when ctx is done.
func (t *throttle) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		d := t.pauseTill.Sub(t.now())
		t.mu.Unlock()
		if d <= 0 {
			break
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
	return t.lim.Wait(ctx)
}

// slowDown records a 429: every worker pauses for retryAfter (at least a
// second) and the rate halves. The 429s of requests that were in flight
// together answer one burst, so while a pause is on they only extend it.
func (t *throttle) slowDown(retryAfter time.Duration) {
	if retryAfter < time.Second {
		retryAfter = time.Second
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.After(t.pauseTill) {
		t.lim.SetLimitAt(now, max(t.lim.Limit()/2, t.min))
	}
	if till := now.Add(retryAfter); till.After(t.pauseTill) {
		t.pauseTill = till
	}
	t.lastSlow = now
}

// succeeded lets the rate grow back after a quiet spell.
func (t *throttle) succeeded() {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.lim.Limit()
	if l >= t.max {
		return
	}
	now := t.now()
	if now.Sub(t.lastSlow) < t.recoverAfter {
		return
	}
	t.lastSlow = now
	t.lim.SetLimitAt(now, min(l+t.max/20, t.max))
}

// limit is the current rate.
func (t *throttle) limit() float64 { return float64(t.lim.Limit()) }
