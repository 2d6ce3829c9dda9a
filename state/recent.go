package state

import (
	"time"
)

// Recent calls f with every send whose latest intent or result is at or
// after since,
// in no particular order: what plan's audience limits count, without the
// sort that Sends makes of every key. It holds the read lock throughout, so
// f must not record into the Store that owns st.
func (st *State) Recent(since time.Time, f func(Send)) {
	floor := millis(since)
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, g := range st.groups {
		for pos := range g.recs {
			if r := &g.recs[pos]; max(r.intentAt, r.resultAt) >= floor {
				f(g.send(pos, true, nil))
			}
		}
	}
}
