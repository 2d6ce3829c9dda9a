package apply

import "sync"

// Breaker decides when failures are frequent enough to stop an apply
// before it burns through the list (SPEC §4.5).
type Breaker struct {
	// Window is how many recent outcomes the failure share is taken over.
	Window int
	// MinSamples is how many outcomes the window needs before the share counts.
	MinSamples int
	// MaxShare is the failure share in the window that stops the apply.
	MaxShare float64
	// MaxConsecutive failures in a row stop the apply.
	MaxConsecutive int
}

// DefaultBreaker stops at 10 failures in a row, or at 20% failures over the
// last 200 outcomes once 50 are in.
var DefaultBreaker = Breaker{Window: 200, MinSamples: 50, MaxShare: 0.20, MaxConsecutive: 10}

// breaker tracks outcomes against a Breaker's thresholds.
type breaker struct {
	cfg Breaker

	mu          sync.Mutex
	ring        []bool // true = failure
	next, n     int
	failures    int
	consecutive int
}

func newBreaker(cfg Breaker) *breaker {
	if cfg.Window <= 0 {
		cfg = DefaultBreaker
	}
	return &breaker{cfg: cfg, ring: make([]bool, cfg.Window)}
}

// record adds an outcome and reports whether the apply must stop, with the
// number of failures in the window.
func (b *breaker) record(failed bool) (bool, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == len(b.ring) && b.ring[b.next] {
		b.failures--
	}
	b.ring[b.next] = failed
	b.next = (b.next + 1) % len(b.ring)
	b.n = min(b.n+1, len(b.ring))
	if failed {
		b.failures++
		b.consecutive++
	} else {
		b.consecutive = 0
	}
	if b.cfg.MaxConsecutive > 0 && b.consecutive >= b.cfg.MaxConsecutive {
		return true, b.failures
	}
	return b.n >= b.cfg.MinSamples && float64(b.failures)/float64(b.n) >= b.cfg.MaxShare, b.failures
}
