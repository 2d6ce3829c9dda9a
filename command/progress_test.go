package command

import (
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/apply"
)

// TestRateText: the first sends leave on the limiter's burst, so the rate
// shown until the run has gone a while is the limiter's, not 1 in 60µs.
func TestRateText(t *testing.T) {
	for _, tt := range []struct {
		done    int
		elapsed time.Duration
		want    string
	}{
		{1, 60 * time.Microsecond, "limit 20.0 msg/s"},
		{0, time.Minute, "limit 20.0 msg/s"},
		{40, 2 * time.Second, "20.0 msg/s, ETA 48s"},
		{995, 50 * time.Second, "19.9 msg/s, ETA 0s"},
	} {
		got := rateText(apply.Progress{Total: 1000, Done: tt.done, Rate: 20}, tt.elapsed)
		if got != tt.want {
			t.Errorf("%d done after %v: %q, want %q", tt.done, tt.elapsed, got, tt.want)
		}
	}
}
