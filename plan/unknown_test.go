package plan

import (
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/state"
)

// TestUnknownReason: plan says why a send is unknown and, once refresh has
// looked, what it checked and when a refresh can decide.
func TestUnknownReason(t *testing.T) {
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	note := "refresh 2026-11-27 08:01:00 UTC looked up message_id m1: failed, but younger than the settle time; a refresh from 2026-11-27 08:02:00 UTC on can decide"
	for _, tc := range []struct {
		send state.Send
		want string
	}{
		{state.Send{IntentAt: at},
			`sent at 2026-11-27 08:00 UTC but its outcome was never recorded; run "ujumbe refresh"`},
		{state.Send{IntentAt: at, MessageID: "m1", ErrorCode: "SEND_FAILED", ErrorMessage: "injected"},
			`sent at 2026-11-27 08:00 UTC and answered SEND_FAILED with message_id m1, but not accepted; run "ujumbe refresh"`},
		{state.Send{IntentAt: at, MessageID: "m1", ErrorCode: "SEND_FAILED", ErrorMessage: note},
			"sent at 2026-11-27 08:00 UTC and answered SEND_FAILED with message_id m1, but not accepted; " + note},
	} {
		if got := unknownReason(tc.send); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
