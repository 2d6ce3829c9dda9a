package plan

import (
	"testing"
	"time"
	"unsafe"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
)

// TestItemSize keeps Item small: a plan holds one per send, 3M of them for
// a million recipients of three messages (issue 12).
func TestItemSize(t *testing.T) {
	if n := unsafe.Sizeof(Item{}); n > 80 {
		t.Errorf("Item is %d bytes, want at most 80", n)
	}
}

// TestItemDue checks that Due gives back, in UTC, the time it was set to,
// to the nanosecond and whatever its zone.
func TestItemDue(t *testing.T) {
	eat := time.FixedZone("EAT", 3*60*60)
	for _, due := range []time.Time{
		{},
		now,
		time.Date(2026, 12, 5, 13, 8, 46, 123456789, time.Local),
		time.Date(2026, 12, 5, 16, 8, 46, 1, eat),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(), // with a monotonic reading
	} {
		var it Item
		it.setDue(due)
		got := it.Due()
		if !got.Equal(due) || got.IsZero() != due.IsZero() || !got.IsZero() && got.Location() != time.UTC {
			t.Errorf("setDue(%v): Due() = %v", due, got)
		}
	}
}

// TestItemAddrAndPhone checks the derived fields against where they come
// from: a configured send's address and phone are those of its place in
// the plan (campaigns as declared, messages as ordered, recipients in CSV
// order); an orphan's are those the state records; and a done send keeps
// nothing out of line.
func TestItemAddrAndPhone(t *testing.T) {
	cfg, st := scenario(t)
	moved := *cfg
	moved.Campaigns = []*config.Campaign{renamedCampaign(t, "renamed")}
	moved.Moved = []*config.Moved{{From: addrs.Pattern{Campaign: "promo"}, To: addrs.Pattern{Campaign: "renamed"}}}
	all, _ := addrs.ParsePattern("campaign.promo")
	for name, tc := range map[string]struct {
		cfg  *config.Config
		opts Options
	}{
		"scenario": {cfg, Options{}},
		"payloads": {cfg, Options{Payloads: true}},
		"no drift": {cfg, Options{NoDrift: true}},
		"replace":  {cfg, Options{Replace: []addrs.Pattern{all}}},
		"moved":    {&moved, Options{}},
	} {
		p, diags := Build(tc.cfg, st, now, tc.opts)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		i := 0
		for _, c := range tc.cfg.Campaigns {
			for _, m := range ordered(c.Messages) {
				for _, r := range c.Recipients.Recipients {
					it := &p.Items[i]
					i++
					if want := (addrs.Addr{Campaign: c.Name, Message: m.Name, Key: r.Key}); it.Addr() != want || it.Phone() != r.Phone {
						t.Errorf("%s: item %d is %s to %s, want %s to %s", name, i-1, it.Addr(), it.Phone(), want, r.Phone)
					}
					if it.Class == Done && it.rare != nil {
						t.Errorf("%s: done send %s keeps %+v", name, it.Addr(), *it.rare)
					}
				}
			}
		}
		orphans := 0
		for _, it := range p.Items[i:] {
			if it.Class != Orphan || it.Message != nil {
				t.Errorf("%s: %s (%s) after the configured sends", name, it.Addr(), it.Class)
				continue
			}
			orphans++
			a := it.Addr()
			if name == "moved" {
				a.Campaign = "promo"
			}
			s, ok := st.Get(a)
			if !ok || s.Phone != it.Phone() {
				t.Errorf("%s: orphan %s to %s, the state has %+v", name, it.Addr(), it.Phone(), s)
			}
		}
		if orphans == 0 {
			t.Errorf("%s: no orphans to check", name)
		}
	}
}
