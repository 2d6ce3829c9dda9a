package refresh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/sandbox"
)

// TestOptOutAfterLookBack: a STOP sent nine days after the template, when
// no send is within the 7-day look-back any more, is read whether refresh
// ran every day meanwhile or not at all for twenty days, paired with the
// template or only in its thread; and the run after it lists only what
// came since, not the whole three weeks again.
func TestOptOutAfterLookBack(t *testing.T) {
	const n = 8
	for _, c := range []struct{ daily, unpaired bool }{{true, false}, {false, false}, {false, true}} {
		daily := c.daily
		t.Run(fmt.Sprintf("daily=%v,unpaired=%v", c.daily, c.unpaired), func(t *testing.T) {
			f := newFixture(t, func(o *sandbox.Options) {
				o.OptOut, o.UnpairedReplies = 1, c.unpaired
				o.ReplyDelay = sandbox.ReplyDelay{Min: 9 * 24 * time.Hour, Max: 9*24*time.Hour + time.Hour}
			})
			f.campaign(n, false)
			f.advance(time.Hour)
			if sum := f.refresh(nil, f.opts()); sum.OptOuts != 0 {
				t.Fatalf("opt-outs before anyone answered: %+v", sum)
			}
			optOuts := 0
			for day := 1; day <= 20; day++ {
				f.advance(24 * time.Hour)
				if daily || day == 20 {
					optOuts += f.refresh(nil, f.opts()).OptOuts
				}
			}
			for i := range n {
				if _, ok := f.store.State().OptOut(phoneOf(i)); !ok {
					t.Errorf("%s sent STOP on day 9 and is not opted out", phoneOf(i))
				}
			}
			if optOuts != n {
				t.Errorf("%d opt-outs counted, want %d", optOuts, n)
			}
			if got, want := f.store.State().InboundRead(), f.srv.Now(); !got.Equal(want) {
				t.Errorf("inbound read to %v, want the last run's start %v", got, want)
			}
			// The next run lists the inbound messages since the last one
			// began: one page with nothing on it, not the eight STOPs.
			f.advance(15 * time.Minute)
			if sum := f.refresh(nil, f.opts()); sum.OptOuts != 0 || sum.Requests != 1 {
				t.Errorf("a run 15 minutes later: %+v, want one request and nothing new", sum)
			}
		})
	}
}
