package apply

import (
	"testing"
	"time"
)

func TestThrottleSlowDownAndRecover(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	th := newThrottle(100, 1, func() time.Time { return now })
	// A burst of 429s from requests in flight together halves the rate once.
	for range 10 {
		th.slowDown(2 * time.Second)
	}
	if got := th.limit(); got != 50 {
		t.Fatalf("after one burst of 429s the rate is %v, want 50", got)
	}
	if got := th.pauseTill.Sub(now); got != 2*time.Second {
		t.Errorf("pause %v, want the Retry-After of 2s", got)
	}
	// A 429 after the pause is a new one.
	now = now.Add(3 * time.Second)
	th.slowDown(0)
	if got := th.limit(); got != 25 {
		t.Fatalf("after a second 429 the rate is %v, want 25", got)
	}
	// No growth while 429s are recent; then a twentieth of the rate per quiet spell.
	th.succeeded()
	if got := th.limit(); got != 25 {
		t.Errorf("the rate grew right after a 429: %v", got)
	}
	now = now.Add(11 * time.Second)
	th.succeeded()
	if got := th.limit(); got != 30 {
		t.Errorf("after a quiet spell the rate is %v, want 30", got)
	}
	for range 100 {
		now = now.Add(11 * time.Second)
		th.succeeded()
	}
	if got := th.limit(); got != 100 {
		t.Errorf("the rate recovered to %v, want the configured 100", got)
	}
}
