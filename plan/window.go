package plan

import (
	"time"

	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// nextInWindow returns the earliest instant at or after t whose wall-clock
// time in loc lies in the daily window [from, to). A window whose end is
// before its start runs overnight (20:00–06:00); from == to means always open.
// Boundaries are built with time.Date, so they stay on the wall clock across
// daylight-saving changes.
func nextInWindow(t time.Time, from, to time.Duration, loc *time.Location) time.Time {
	if from == to {
		return t
	}
	lt := t.In(loc)
	y, mo, d := lt.Date()
	at := func(day int, off time.Duration) time.Time {
		return time.Date(y, mo, day, int(off/time.Hour), int(off%time.Hour/time.Minute), 0, 0, loc)
	}
	start, end := at(d, from), at(d, to)
	if from < to {
		switch {
		case lt.Before(start):
			return start
		case lt.Before(end):
			return t
		default:
			return at(d+1, from)
		}
	}
	// Overnight: open before today's end or from today's start on.
	if lt.Before(end) || !lt.Before(start) {
		return t
	}
	return start
}

// windowEnd is when the 24h window for msgs[j]'s recipient closes. The
// model is Briq's documented rule: 24h after the latest template accepted
// or answer received in the chain of messages msgs[j] follows. Where refresh recorded the
// window as the provider reported it (window.open, expires_at), that wins
// (SPEC §1): Meta's own rule is stricter, and a provider that follows it
// reports the window closed after a template alone.
//
// The chain of msgs[j]'s recipient is looked up already (worker.chain).
func (b *worker) windowEnd(j int) time.Time {
	var opened, replied time.Time
	var seen state.Window
	for k := b.after[j]; k >= 0; k = b.after[k] {
		s, ok, a := &b.chain[k].s, b.chain[k].ok, b.msgs[k]
		if !ok || s.Outcome != state.OutcomeAccepted {
			continue
		}
		if a.Kind == config.KindTemplate && s.ResultAt.After(opened) {
			opened = s.ResultAt
		}
		if s.Reply != nil && s.Reply.At.After(replied) {
			replied = s.Reply.At
		}
		if s.Window.SeenAt.After(seen.SeenAt) {
			seen = s.Window
		}
	}
	if replied.After(opened) {
		opened = replied
	}
	return reportedWindowEnd(opened.Add(windowLength), seen, replied)
}

// reportedWindowEnd is the end of a window the provider reported as seen,
// model being the end by the model and replied the latest answer recorded.
// A window reported open with an expiry ends then; one reported open
// without an expiry ends as the model says; one reported closed ended when
// it expired, or at the latest when it was seen closed. An answer that came
// after the report reopened the window for 24h.
func reportedWindowEnd(model time.Time, seen state.Window, replied time.Time) time.Time {
	var end time.Time
	switch {
	case seen.SeenAt.IsZero():
		return model
	case seen.Open && seen.ExpiresAt.IsZero():
		return model
	case seen.Open:
		end = seen.ExpiresAt
	case !seen.ExpiresAt.IsZero() && seen.ExpiresAt.Before(seen.SeenAt):
		end = seen.ExpiresAt
	default:
		end = seen.SeenAt
	}
	if reopened := replied.Add(windowLength); replied.After(seen.SeenAt) && reopened.After(end) {
		end = reopened
	}
	return end
}
