package plan

import "time"

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
