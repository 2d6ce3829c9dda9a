package command

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ujumbe/ujumbe/apply"
)

// progressInterval is how often a run that is not on a terminal logs a
// progress line.
const progressInterval = 5 * time.Second

// progress shows a long apply: a bar with rate and ETA on a terminal, a
// plain line every few seconds otherwise (cron logs).
type progress struct {
	bar *progressbar.ProgressBar // nil when not on a terminal

	w        io.Writer
	mu       sync.Mutex
	lastLine time.Time
}

func (c *cli) newProgress(v view, total int) *progress {
	p := &progress{w: c.stderr, lastLine: time.Now()}
	if v.json {
		p.w = io.Discard
		return p
	}
	if isTerminal(c.stderr) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(c.stderr),
			progressbar.OptionSetDescription("Sending"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionEnableColorCodes(!v.noColor),
		)
	}
	return p
}

// update is apply's progress callback.
func (p *progress) update(s apply.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe("Sending, " + rateText(s, time.Now()))
		_ = p.bar.Set(s.Done)
		return
	}
	if time.Since(p.lastLine) >= progressInterval {
		p.lastLine = time.Now()
		p.line(s)
	}
}

func (p *progress) line(s apply.Progress) {
	fmt.Fprintf(p.w, "Sending: %d/%d (%.0f%%), %d sent, %s\n",
		s.Done, s.Total, 100*float64(s.Done)/float64(max(s.Total, 1)), s.Summary.Sent, rateText(s, time.Now()))
}

// minRateWindow is how long a run must have gone before its average rate
// means anything: the first sends leave at once on the limiter's burst,
// and one send in 60µs is not 16,000 msg/s.
const minRateWindow = 2 * time.Second

// rateText is the run's rate and ETA at now, e.g. "19.8 msg/s, ETA 4m2s";
// before minRateWindow it gives the limiter's rate instead.
func rateText(s apply.Progress, now time.Time) string {
	elapsed := now.Sub(s.Started)
	if elapsed < minRateWindow || s.Done == 0 {
		return fmt.Sprintf("limit %.1f msg/s", s.Rate)
	}
	rate := float64(s.Done) / elapsed.Seconds()
	eta := time.Duration(float64(s.Total-s.Done) / rate * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%.1f msg/s, ETA %s", rate, eta)
}

// finish clears the bar.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
