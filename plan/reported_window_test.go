package plan

import (
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/state"
)

// TestReportedWindowEnd: what the provider last reported of a window wins
// over the model; an answer after the report reopens it.
func TestReportedWindowEnd(t *testing.T) {
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	model := at.Add(24 * time.Hour) // a template accepted at 08:00
	seen := at.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		window  state.Window
		replied time.Time
		want    time.Time
	}{
		{"never reported: the model", state.Window{}, time.Time{}, model},
		{"open with an expiry", state.Window{SeenAt: seen, Open: true, ExpiresAt: at.Add(20 * time.Hour)}, time.Time{}, at.Add(20 * time.Hour)},
		{"open without an expiry: the model", state.Window{SeenAt: seen, Open: true}, time.Time{}, model},
		{"closed, never opened (Meta's rule)", state.Window{SeenAt: seen}, time.Time{}, seen},
		{"closed after it expired", state.Window{SeenAt: seen, ExpiresAt: at.Add(30 * time.Minute)}, time.Time{}, at.Add(30 * time.Minute)},
		{"closed, then the customer answered", state.Window{SeenAt: seen}, at.Add(2 * time.Hour), at.Add(26 * time.Hour)},
		{"closed, an earlier answer", state.Window{SeenAt: seen}, at.Add(30 * time.Minute), seen},
	} {
		if got := reportedWindowEnd(model, tc.window, tc.replied); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
