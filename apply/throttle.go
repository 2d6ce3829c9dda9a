package apply

import (
	"context"
	"math"
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

	// clock and sleep are the real clock, which the limiter uses too, for
	// depart; tests replace them.
	clock func() time.Time
	sleep func(time.Duration)

	mu        sync.Mutex
	pauseTill time.Time
	lastSlow  time.Time
	departed  []time.Time // departures of the last second, oldest first
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
		clock:        time.Now,
		sleep:        time.Sleep,
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

// depart is called right before a request leaves. It delays the caller
// until no interval of one second would hold more departures than the
// limiter itself lets through (⌈rate⌉ + burst − 1). The limiter spaces its
// tokens, but a worker delayed between its token and its request (the
// process stalled, the intent's fdatasync was slow) sends late, together
// with the workers that follow, and a provider counts arrivals: on a loaded
// machine BenchmarkApply saw 1,049 requests leave in one wall-clock second
// at 1,000/s without this. The wait is under a second and is not
// cancelled: the intent is recorded, so the send is already in flight.
func (t *throttle) depart() {
	for {
		now := t.clock()
		t.mu.Lock()
		l := t.lim.Limit()
		if l == rate.Inf || l <= 0 {
			t.mu.Unlock()
			return
		}
		allowed := int(math.Ceil(float64(l))) + t.lim.Burst() - 1
		old := 0
		for old < len(t.departed) && now.Sub(t.departed[old]) >= time.Second {
			old++
		}
		t.departed = t.departed[old:]
		if len(t.departed) < allowed {
			t.departed = append(t.departed, now)
			t.mu.Unlock()
			return
		}
		d := t.departed[len(t.departed)-allowed].Add(time.Second).Sub(now)
		t.mu.Unlock()
		t.sleep(d)
	}
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

// paused returns how long the pause Retry-After asked for lasts from now;
// 0 when there is none.
func (t *throttle) paused() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(t.pauseTill.Sub(t.now()), 0)
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
