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

func TestThrottleDepartSpreadsLateSends(t *testing.T) {
	// Ten workers got their tokens on time but were all held up, and ask to
	// leave at the same instant; more keep coming. No second may see more
	// than the rate (10/s, burst 1) leave.
	clock := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	th := newThrottle(10, 1, func() time.Time { return clock })
	th.clock = func() time.Time { return clock }
	th.sleep = func(d time.Duration) { clock = clock.Add(d) }
	var left []time.Time
	for range 35 {
		th.depart()
		left = append(left, clock)
	}
	for i := range left {
		n := 0
		for _, u := range left[i:] {
			if u.Sub(left[i]) < time.Second {
				n++
			}
		}
		if n > 10 {
			t.Fatalf("%d departures in the second from %v, want at most 10", n, left[i].Format("15:04:05.000"))
		}
	}
	if got, want := left[10].Sub(left[0]), time.Second; got != want {
		t.Errorf("the eleventh departure left %v after the first, want %v", got, want)
	}

	// After a 429 halves the rate, the allowance shrinks with it.
	th.slowDown(0)
	if got := th.limit(); got != 5 {
		t.Fatalf("rate %v after a 429, want 5", got)
	}
	clock = clock.Add(time.Second) // the pause
	start := len(left)
	for range 12 {
		th.depart()
		left = append(left, clock)
	}
	if got, want := left[start+5].Sub(left[start]), time.Second; got != want {
		t.Errorf("at 5/s the sixth departure left %v after the first, want %v", got, want)
	}
}
