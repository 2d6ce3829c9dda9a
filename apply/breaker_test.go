package apply

import (
	"errors"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/briq"
)

// outcomeOf maps a letter to what the client returns:
// s accepted, f 503 (in doubt), n never reached, p 400 parameter mismatch,
// u 422 RECIPIENT_UNREACHABLE, v 422 VALIDATION_ERROR, c 404 conversation,
// w 422 WINDOW_CLOSED.
func outcomeOf(c rune) error {
	switch c {
	case 's':
		return nil
	case 'f':
		return &briq.Error{Op: "send message", Class: briq.InDoubt, HTTPStatus: 503}
	case 'n':
		return &briq.Error{Op: "send message", Class: briq.NeverReached, Err: errors.New("connection refused")}
	case 'p':
		return &briq.Error{Op: "send message", Class: briq.Permanent, HTTPStatus: 400, Code: "PARAM_COUNT_MISMATCH"}
	case 'u':
		return &briq.Error{Op: "send message", Class: briq.Permanent, HTTPStatus: 422, Code: "RECIPIENT_UNREACHABLE"}
	case 'v':
		return &briq.Error{Op: "send message", Class: briq.Permanent, HTTPStatus: 422, Code: "VALIDATION_ERROR", Field: "to"}
	case 'c':
		return &briq.Error{Op: "send message", Class: briq.Permanent, HTTPStatus: 404, Code: "CONVERSATION_NOT_FOUND"}
	case 'w':
		return &briq.Error{Op: "send message", Class: briq.WindowClosed, HTTPStatus: 422, Code: "WINDOW_CLOSED"}
	}
	panic("unknown outcome " + string(c))
}

func TestBreaker(t *testing.T) {
	cfg := Breaker{Window: 10, MinSamples: 5, MaxShare: 0.5, MaxConsecutive: 3}
	tests := []struct {
		name     string
		outcomes string
		tripAt   int    // index of the outcome that trips it, -1 for never
		want     string // part of the message
	}{
		{"all good", "ssssssssssssssss", -1, ""},
		{"consecutive", "ssfff", 4, "3 sends in a row failed or are in doubt (max_consecutive_failures = 3); 3 of the last 5"},
		{"share needs samples", "fsfs", -1, ""},
		{"share", "fsfsn", 4, "3 of the last 5 counted outcomes failed or are in doubt (window 10; the limit is 50%, max_failure_rate = 0.5); most often HTTP_503 (2 of 3)"},
		{"window forgets", "ffsffsssssssssssssssffs", 4, ""},
		{"below share", "fssfssfssfssfss", -1, ""},
		{"a 400 counts", "ppp", 2, "most often PARAM_COUNT_MISMATCH (3 of 3)"},
		// Failures of single recipients count as nothing: they neither
		// fill the window nor break a run of failures.
		{"bad numbers", "suusuvsucsuusuuwwsuusuvsus", -1, ""},
		{"bad numbers among an outage", "ufuufuf", 6, "3 sends in a row failed"},
		{"recipient failures say so", "fsfsuf", 5, "; 1 failures of single recipients (such as numbers not on WhatsApp) were recorded and not counted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(cfg)
			got, msg := -1, ""
			for i, c := range tt.outcomes {
				if err := b.record(outcomeOf(c)); err != nil && got < 0 {
					if !errors.Is(err, ErrBreaker) {
						t.Errorf("%v is not ErrBreaker", err)
					}
					got, msg = i, err.Error()
				}
			}
			if got != tt.tripAt {
				t.Errorf("tripped at %d (%s), want %d", got, msg, tt.tripAt)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q\ndoes not say %q", msg, tt.want)
			}
		})
	}
}

// TestBreakerThirtyPercentUnreachable is the finding: a list where 30% of
// the numbers are not on WhatsApp. Before, the default breaker stopped such
// a run after about 50 sends.
func TestBreakerThirtyPercentUnreachable(t *testing.T) {
	b := newBreaker(DefaultBreaker)
	for i := range 5000 {
		c := 's'
		if i%10 < 3 {
			c = 'u'
		}
		if err := b.record(outcomeOf(c)); err != nil {
			t.Fatalf("tripped at send %d: %v", i, err)
		}
	}
}

// TestBreakerRecipientRun stops a run in which every send fails for its
// recipient: that is not about the recipients.
func TestBreakerRecipientRun(t *testing.T) {
	b := newBreaker(DefaultBreaker)
	var err error
	n := 0
	for err == nil && n < 1000 {
		err = b.record(outcomeOf(rune("uvv"[n%3])))
		n++
	}
	if n != maxRecipientRun || !strings.Contains(err.Error(), "50 sends in a row failed for their recipients and none was accepted, most often VALIDATION_ERROR") {
		t.Errorf("after %d sends: %v", n, err)
	}
}
