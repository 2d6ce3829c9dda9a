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
			if got, last := f.store.State().InboundRead(), f.srv.Now(); got.After(last) || got.Before(last.Add(-24*time.Hour)) {
				t.Errorf("inbound read to %v, want within the day before the last run's start %v", got, last)
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

// TestInboundMarkIdle: the mark of how far refresh read the inbound
// messages is a record, which raises the state's serial and so makes a
// saved plan stale: a run that learns nothing moves it only when it lags a
// day behind, so cron's runs every 15 minutes leave the serial alone.
func TestInboundMarkIdle(t *testing.T) {
	f := newFixture(t, nil)
	f.campaign(3, false)
	f.advance(8 * 24 * time.Hour) // past the look-back: nothing followed
	f.refresh(nil, f.opts())
	st := f.store.State()
	serial, mark := st.Serial(), st.InboundRead()
	if mark.IsZero() {
		t.Fatal("the first run after the look-back did not record how far it read")
	}
	for range 8 {
		f.advance(15 * time.Minute)
		f.refresh(nil, f.opts())
	}
	if st.Serial() != serial || !st.InboundRead().Equal(mark) {
		t.Errorf("idle runs moved the state from serial %d to %d (mark %v to %v)", serial, st.Serial(), mark, st.InboundRead())
	}
	f.advance(24 * time.Hour)
	f.refresh(nil, f.opts())
	if st.Serial() != serial+1 || !st.InboundRead().Equal(f.srv.Now()) {
		t.Errorf("a day later: serial %d, mark %v; want %d and %v", st.Serial(), st.InboundRead(), serial+1, f.srv.Now())
	}
}

// TestInboundClockAhead: how far refresh has read is kept by the
// provider's clock (its answers' Date), not this machine's, so a machine
// whose clock runs ahead by more than the skew margin does not skip the
// STOPs sent between its runs.
func TestInboundClockAhead(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) {
		o.OptOut = 1
		o.ReplyDelay = sandbox.ReplyDelay{Min: 9*24*time.Hour + 3*time.Minute, Max: 9*24*time.Hour + 3*time.Minute + time.Second}
	})
	f.campaign(4, false)
	opts := f.opts()
	opts.Now = func() time.Time { return f.srv.Now().Add(10 * time.Minute) }
	f.advance(9 * 24 * time.Hour)
	f.refresh(nil, opts)
	for range 8 {
		f.advance(15 * time.Minute)
		f.refresh(nil, opts)
	}
	for i := range 4 {
		if _, ok := f.store.State().OptOut(phoneOf(i)); !ok {
			t.Errorf("%s sent STOP and is not opted out", phoneOf(i))
		}
	}
}
