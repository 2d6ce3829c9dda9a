package plan

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/ujumbe/ujumbe/state"
)

// unknownReason says why a send is unknown and, once refresh has looked
// into it, what it checked and when a refresh can decide (its note).
func unknownReason(s state.Send) string {
	why := fmt.Sprintf("sent at %s but its outcome was never recorded", stamp(s.IntentAt))
	if s.MessageID != "" {
		why = fmt.Sprintf("sent at %s and answered %s with message_id %s, but not accepted", stamp(s.IntentAt), cmp.Or(s.ErrorCode, "without a code"), s.MessageID)
	}
	if strings.HasPrefix(s.ErrorMessage, "refresh ") {
		return why + "; " + s.ErrorMessage
	}
	return why + "; run \"ujumbe refresh\""
}
