package report

import "time"

// maxHourBins is the longest timeline drawn per hour: a month. A longer
// one is drawn per day.
const maxHourBins = 31 * 24

// Timeline counts a campaign's sends and replies per hour in the
// campaign's time zone (per day when they span over a month), from the
// hour of the first to the hour of the last, empty hours included.
type Timeline struct {
	Start time.Time     // the first bin's start, in the campaign's zone
	Step  time.Duration // time.Hour, or 24h for a timeline per day
	Bins  int
	// Series has one entry per message of the campaign, in its order.
	Series []Series
}

// Series are one message's counts per bin; their sums are the message's
// Sent and Replied.
type Series struct {
	Message string
	Sends   []int
	Replies []int
}

// BinStart returns when bin i starts, in the campaign's zone.
func (t *Timeline) BinStart(i int) time.Time {
	if t.Step == 24*time.Hour {
		return t.Start.AddDate(0, 0, i)
	}
	return t.Start.Add(time.Duration(i) * t.Step)
}

// Totals returns the sends and replies of all messages per bin.
func (t *Timeline) Totals() (sends, replies []int) {
	sends, replies = make([]int, t.Bins), make([]int, t.Bins)
	for _, s := range t.Series {
		for i := range t.Bins {
			sends[i] += s.Sends[i]
			replies[i] += s.Replies[i]
		}
	}
	return sends, replies
}

// timeline bins the sends and replies of c's messages; nil when there are
// none.
func timeline(c *Campaign) *Timeline {
	var first, last time.Time
	for _, m := range c.Messages {
		for _, ts := range [][]time.Time{m.sentAt, m.replyAt} {
			for _, at := range ts {
				if first.IsZero() || at.Before(first) {
					first = at
				}
				if at.After(last) {
					last = at
				}
			}
		}
	}
	if first.IsZero() {
		return nil
	}
	t := &Timeline{Step: time.Hour}
	t.Start = hourOf(first, c.loc)
	if last.Sub(t.Start) >= maxHourBins*time.Hour {
		t.Step = 24 * time.Hour
		l := first.In(c.loc)
		t.Start = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, c.loc)
	}
	t.Bins = t.index(last, c.loc) + 1
	for _, m := range c.Messages {
		s := Series{Message: m.Name, Sends: make([]int, t.Bins), Replies: make([]int, t.Bins)}
		for _, at := range m.sentAt {
			s.Sends[t.index(at, c.loc)]++
		}
		for _, at := range m.replyAt {
			s.Replies[t.index(at, c.loc)]++
		}
		t.Series = append(t.Series, s)
	}
	return t
}

// index returns the bin at falls in.
func (t *Timeline) index(at time.Time, loc *time.Location) int {
	if t.Step == 24*time.Hour {
		day := func(x time.Time) time.Time {
			x = x.In(loc)
			return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
		}
		return int(day(at).Sub(day(t.Start)) / (24 * time.Hour))
	}
	return int(hourOf(at, loc).Sub(t.Start) / time.Hour)
}

// hourOf returns the start of the hour of at in loc.
func hourOf(at time.Time, loc *time.Location) time.Time {
	l := at.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
}
