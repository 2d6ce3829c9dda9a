package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/addrs"
)

// TestTakeChanges: once tracked, every recorded send and opt-out is listed
// once per record, a removal reports All, and each TakeChanges starts a
// new list; untracked, TakeChanges reports All.
func TestTakeChanges(t *testing.T) {
	s := mustOpen(t, statePath(t))
	defer mustClose(t, s)
	st := s.State()
	if ch := st.TakeChanges(); !ch.All {
		t.Errorf("untracked: %+v, want All", ch)
	}
	sendOne(t, s, addr("before"), OutcomeAccepted)
	st.TrackChanges()
	if ch := st.TakeChanges(); !cmp.Equal(ch, Changes{}) {
		t.Errorf("nothing recorded since tracking: %+v", ch)
	}
	sendOne(t, s, addr("a"), OutcomeAccepted)
	if err := s.Refresh(Update{Addr: addr("a"), Reply: &Reply{ID: "yes", At: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.OptOut(OptOut{Phone: "255700000001", At: t0}); err != nil {
		t.Fatal(err)
	}
	want := Changes{Sends: []addrs.Addr{addr("a"), addr("a"), addr("a")}, OptOuts: []string{"255700000001"}}
	if diff := cmp.Diff(want, st.TakeChanges()); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if _, err := s.Remove(addrs.Pattern{Campaign: addr("a").Campaign, Message: addr("a").Message, Key: "before"}); err != nil {
		t.Fatal(err)
	}
	if ch := st.TakeChanges(); !ch.All {
		t.Errorf("after a removal: %+v, want All", ch)
	}
	if ch := st.TakeChanges(); !cmp.Equal(ch, Changes{}) {
		t.Errorf("taken twice: %+v", ch)
	}
}
