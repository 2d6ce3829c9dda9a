package state

import (
	"time"

	"github.com/ujumbe/ujumbe/addrs"
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
	for k, g := range st.groups {
		for key, r := range g.sends {
			if max(r.intentAt, r.resultAt) >= floor {
				f(r.send(addrs.Addr{Campaign: k.campaign, Message: k.message, Key: key}))
			}
		}
	}
}
