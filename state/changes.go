package state

import "github.com/ujumbe/ujumbe/addrs"

// Changes are what a State recorded between TrackChanges (or the last
// TakeChanges) and TakeChanges: enough for a planner to look again at the
// sends that changed instead of at every send.
type Changes struct {
	// Sends are the addresses of the sends recorded, changed or refreshed,
	// in the order recorded; an address may appear more than once.
	Sends []addrs.Addr
	// OptOuts are the phones that opted out.
	OptOuts []string
	// All reports a change of many sends at once (state rm, state mv):
	// every send may have changed, and Sends does not list them.
	All bool
}

// TrackChanges makes st note the changes it records from now on, for
// TakeChanges. A state starts without tracking: a plan or a one-off apply
// has no use for the list.
func (st *State) TrackChanges() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.changes == nil {
		st.changes = &Changes{}
	}
}

// TakeChanges returns the changes noted since TrackChanges or the last
// TakeChanges, and starts a new list. Without TrackChanges it reports All:
// nothing was noted, so anything may have changed.
func (st *State) TakeChanges() Changes {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.changes == nil {
		return Changes{All: true}
	}
	ch := *st.changes
	*st.changes = Changes{}
	return ch
}

// noteChange adds what the record r changed to the tracked changes. The
// caller holds the write lock.
func (st *State) noteChange(r *record) {
	ch := st.changes
	if ch == nil {
		return
	}
	switch r.op {
	case opOptOut:
		ch.OptOuts = append(ch.OptOuts, r.optOut.Phone)
	case opIntent, opResult, opRefresh, opDefer:
		ch.Sends = append(ch.Sends, r.send.Addr)
	case opInbound:
		// No send or opt-out changes.
	default:
		ch.All = true
	}
}
