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
	// event, with -json, writes a progress event instead of a line.
	event func(apply.Progress)

	w        io.Writer
	mu       sync.Mutex
	lastLine time.Time
	started  time.Time // real time, as rateText wants
}

func (c *cli) newProgress(v view, total int) *progress {
	p := &progress{w: c.stderr, lastLine: time.Now(), started: time.Now()}
	if v.json {
		p.event = func(s apply.Progress) {
			c.event("progress", progressLine(s, time.Since(p.started)), struct {
				Done  int `json:"done"`
				Total int `json:"total"`
				Sent  int `json:"sent"`
			}{s.Done, s.Total, s.Summary.Sent})
		}
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
		p.bar.Describe("Sending, " + rateText(s, time.Since(p.started)))
		_ = p.bar.Set(s.Done)
		return
	}
	if time.Since(p.lastLine) >= progressInterval {
		p.lastLine = time.Now()
		if p.event != nil {
			p.event(s)
		} else {
			fmt.Fprintln(p.w, progressLine(s, time.Since(p.started)))
		}
	}
}

// progressLine is a run's progress in a line for logs, elapsed into it.
func progressLine(s apply.Progress, elapsed time.Duration) string {
	return fmt.Sprintf("Sending: %d/%d (%.0f%%), %d sent, %s",
		s.Done, s.Total, 100*float64(s.Done)/float64(max(s.Total, 1)), s.Summary.Sent, rateText(s, elapsed))
}

// minRateWindow is how long a run must have gone before its average rate
// means anything: the first sends leave at once on the limiter's burst,
// and one send in 60µs is not 16,000 msg/s.
const minRateWindow = 2 * time.Second

// rateText is the run's rate and ETA elapsed into it, e.g. "19.8 msg/s,
// ETA 4m2s"; before minRateWindow it gives the limiter's rate instead.
// Elapsed is real time, as the bar is watched in it: a rehearsal's clock
// is simulated.
func rateText(s apply.Progress, elapsed time.Duration) string {
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
