package apply

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// sandboxRun applies a one-template campaign to n recipients through the
// briq client against a sandbox with faults on loopback, recording in a
// real state store. The run keeps the wall clock, on which its throttle
// pauses after a 429. It returns the sandbox, the state and Run's error.
func sandboxRun(t *testing.T, n int, faults sandbox.Faults, opts Options) (*sandbox.Server, *state.State, Summary, error) {
	t.Helper()
	epoch := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	srv, err := sandbox.New(sandbox.Options{APIKey: "k", Now: func() time.Time { return epoch },
		Templates: []sandbox.Template{{Name: "t", Params: []string{"1"}}}, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := briq.New(briq.Options{BaseURL: url, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ujumbe.state"), state.Options{Operation: "test", Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if opts.Rate == 0 {
		opts.Rate = 1000
	}
	// A run that repeats a send without end is stopped, and fails the test.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, runErr := Run(ctx, items(t, n), c, store, opts)
	return srv, store.State(), sum, runErr
}

// TestAnswersWithAnID: whatever the status of an answer that names a
// message_id (500 envelope, 429, 422 provider failure, reauth), the send
// is in doubt with that id recorded, and the request is never repeated:
// the sandbox accepted or recorded exactly one message per recipient.
func TestAnswersWithAnID(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults sandbox.Faults
		code   string
		fatal  bool
	}{
		{"500 envelope with the id", sandbox.Faults{AcceptThen500: 1}, "INTERNAL_ERROR", false},
		{"429 with the id", sandbox.Faults{RateLimitWithID: 1}, "RATE_LIMITED", false},
		{"422 provider failure", sandbox.Faults{ProviderFail: 1}, "", false},
		{"422 reauth", sandbox.Faults{Reauth: true}, "WHATSAPP_REAUTH_REQUIRED", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 3
			srv, st, sum, err := sandboxRun(t, n, tc.faults, Options{Parallelism: 1})
			if tc.fatal != (err != nil) {
				t.Errorf("run error %v, want fatal %v", err, tc.fatal)
			}
			stats := srv.Stats()
			ids := map[string]string{}
			for _, m := range stats.Messages {
				ids[m.To] = m.ID
			}
			if len(stats.Duplicates) != 0 {
				t.Errorf("the sandbox accepted duplicates: %v", stats.Duplicates)
			}
			if int(stats.Sends) != len(stats.Messages) || len(stats.Messages) > n {
				t.Errorf("%d send requests for %d recorded messages: a send with an id was repeated", stats.Sends, len(stats.Messages))
			}
			recorded := 0
			for s := range st.Sends(addrs.Pattern{}) {
				recorded++
				if s.Outcome != state.OutcomeUnknown || s.MessageID == "" || s.MessageID != ids[s.Phone] {
					t.Errorf("%s: %s with message_id %q, want unknown with the sandbox's %q", s.Addr, s.Outcome, s.MessageID, ids[s.Phone])
				}
				if tc.code != "" && s.ErrorCode != tc.code {
					t.Errorf("%s: error code %q, want %q", s.Addr, s.ErrorCode, tc.code)
				}
			}
			if want := n; tc.fatal {
				want = 1
				if recorded != want || sum.Unknown != want {
					t.Errorf("%d sends recorded, summary %+v; want the run to stop after the first", recorded, sum)
				}
			} else if recorded != want || sum.Unknown != want || sum.Retry != 0 {
				t.Errorf("%d sends recorded, summary %+v; want %d unknown", recorded, sum, want)
			}
		})
	}
}

// TestRateLimitRetriesBounded: a send answered 429 without an id is
// repeated at most Options.RateLimitRetries times within the run, then
// recorded as a retry; the sandbox accepted nothing for it.
func TestRateLimitRetriesBounded(t *testing.T) {
	// The sandbox clock stands still, so its limit of one send per second
	// accepts the first send and refuses every later one.
	srv, st, sum, err := sandboxRun(t, 2, sandbox.Faults{RateLimit: 1}, Options{Parallelism: 1, RateLimitRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	stats := srv.Stats()
	if stats.Sends != 1+3 || stats.Accepted != 1 || stats.Rejected["RATE_LIMITED"] != 3 {
		t.Errorf("sandbox: %d sends, %d accepted, rejected %v; want 1 accepted, then 1+2 requests refused", stats.Sends, stats.Accepted, stats.Rejected)
	}
	if sum.Sent != 1 || sum.Retry != 1 || sum.RateLimited != 3 {
		t.Errorf("summary %+v, want 1 sent, 1 retry after 3 rate-limited answers", sum)
	}
	retries := 0
	for s := range st.Sends(addrs.Pattern{}) {
		if s.Outcome == state.OutcomeRetry {
			retries++
			if s.MessageID != "" || s.Attempts != 1 {
				t.Errorf("%s: %+v, want a retry without message_id after one intent", s.Addr, s)
			}
		}
	}
	if retries != 1 {
		t.Errorf("%d retries in the state, want 1", retries)
	}
}

// TestLongRetryAfterNotRepeated: a 429 whose Retry-After asks for a pause
// longer than MaxRepeatPause is not repeated under its intent after the
// pause, when another run may have taken the state over and resent the
// send it found in doubt: the attempt is recorded as not accepted at once,
// and the send goes again under a new intent. The sandbox accepted nothing
// for it, and got it once.
func TestLongRetryAfterNotRepeated(t *testing.T) {
	srv, st, sum, err := sandboxRun(t, 2, sandbox.Faults{RateLimit: 1, RetryAfter: 10 * time.Minute}, Options{Parallelism: 1})
	if err != nil {
		t.Fatalf("run: %v (a run that waits out the pause is stopped by the test's deadline)", err)
	}
	stats := srv.Stats()
	if stats.Sends != 2 || stats.Accepted != 1 || stats.Rejected["RATE_LIMITED"] != 1 {
		t.Errorf("sandbox: %d sends, %d accepted, rejected %v; want 1 accepted, then 1 refused and not repeated", stats.Sends, stats.Accepted, stats.Rejected)
	}
	if sum.Sent != 1 || sum.Retry != 1 || sum.RateLimited != 1 {
		t.Errorf("summary %+v, want 1 sent, 1 retry after 1 rate-limited answer", sum)
	}
	for s := range st.Sends(addrs.Pattern{}) {
		if s.Outcome == state.OutcomeRetry && (s.MessageID != "" || s.Attempts != 1) {
			t.Errorf("%s: %+v, want a retry without message_id after one intent", s.Addr, s)
		}
	}
}
