package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// sendAddr is the address of the world campaign's send to recipient i,
// whose key is its phone number.
func sendAddr(i int) addrs.Addr {
	return addrs.Addr{Campaign: "launch", Message: "hello", Key: fixture.Phone(i)}
}

// refreshRequests reads the request count from refresh's summary.
func refreshRequests(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`Refresh finished after (\d+) requests? to the provider`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("refresh printed no summary:\n%s", out)
	}
	return m[1]
}

// TestRefreshResolvesDroppedSends drops the connection of a tenth of the
// accepted sends: refresh must give every unknown send the message_id the
// sandbox made, with no duplicate, and the next apply must send nothing.
func TestRefreshResolvesDroppedSends(t *testing.T) {
	const n = 300
	w := newWorld(t, n, sandbox.Options{Seed: 5, Faults: sandbox.Faults{DropAfterAccept: 0.1}})
	for range 5 {
		if _, _, code := w.run("apply", "-auto-approve", "-refresh=false"); code == exitOK {
			break
		}
	}
	accepted, unknown := w.audit()
	if unknown == 0 || accepted+unknown != n {
		t.Fatalf("after apply: %d accepted, %d unknown; want some unknown, %d in all", accepted, unknown, n)
	}
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}

	out := w.mustRun(exitOK, "refresh")
	t.Logf("%d unknown: %s", unknown, out)
	if !strings.Contains(out, "Unknown sends: "+strconv.Itoa(unknown)+" found at the provider (message_id recorded).") {
		t.Errorf("refresh output:\n%s", out)
	}
	refreshRequests(t, out)
	accepted, unknown = w.audit()
	if accepted != n || unknown != 0 {
		t.Fatalf("after refresh: %d accepted, %d unknown; want %d, 0", accepted, unknown, n)
	}
	stats := w.srv.Stats()
	claimed := map[string]bool{}
	for s := range w.state().Sends(addrs.Pattern{}) {
		claimed[s.MessageID] = true
	}
	for _, m := range stats.Messages {
		if !claimed[m.ID] {
			t.Errorf("sandbox message %s to %s is claimed by no send", m.ID, m.To)
		}
	}

	out = w.mustRun(exitOK, "apply", "-auto-approve")
	if !strings.Contains(out, "No changes.") {
		t.Errorf("apply after refresh:\n%s", out)
	}
	if got := w.srv.Stats().Accepted; got != stats.Accepted || got != n {
		t.Fatalf("the sandbox accepted %d, want still %d", got, n)
	}
}

// TestRefreshAbsentSendBecomesDue records an intent whose request never
// left: apply leaves it alone, refresh finds it absent, and the next apply
// sends it, once.
func TestRefreshAbsentSendBecomesDue(t *testing.T) {
	const n = 5
	w := newWorld(t, n, sandbox.Options{})
	store, _, err := state.Open(context.Background(), filepath.Join(w.dir, defaultStateName), state.Options{Operation: "test"})
	if err != nil {
		t.Fatal(err)
	}
	lost := sendAddr(n - 1)
	if err := store.RecordIntent(state.Intent{Addr: lost, Phone: fixture.Phone(n - 1), At: time.Now().Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	w.mustRun(exitOK, "apply", "-auto-approve", "-refresh=false")
	if got := w.srv.Stats().Accepted; got != n-1 {
		t.Fatalf("apply sent %d, want %d: an unknown send must wait for refresh", got, n-1)
	}

	out := w.mustRun(exitOK, "refresh")
	if !strings.Contains(out, "Unknown sends: 1 certainly never arrived (due again).") {
		t.Errorf("refresh output:\n%s", out)
	}
	if s, _ := w.state().Get(lost); s.Outcome != state.OutcomeRetry {
		t.Fatalf("%s is %s after refresh, want retry", lost, s.Outcome)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != n || unknown != 0 {
		t.Fatalf("%d accepted, %d unknown; want %d, 0", accepted, unknown, n)
	}
}

// TestRefreshOptOuts has a quarter of the recipients answer STOP: refresh
// records their opt-outs and replies, and a later campaign to the same
// list skips them; with the answers' content in either layout the docs
// leave open (the text object, or WhatsApp's whole message).
func TestRefreshOptOuts(t *testing.T) {
	for _, whole := range []bool{false, true} {
		t.Run(fmt.Sprintf("whole_replies=%t", whole), func(t *testing.T) { testRefreshOptOuts(t, whole) })
	}
}

func testRefreshOptOuts(t *testing.T, whole bool) {
	const n = 40
	w := newWorld(t, n, sandbox.Options{Seed: 9, OptOut: 0.25, WholeReplies: whole})
	w.mustRun(exitOK, "apply", "-auto-approve")
	if err := w.srv.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	out := w.mustRun(exitOK, "refresh", "-json")
	var ev struct {
		Type    string      `json:"type"`
		Refresh refreshJSON `json:"refresh"`
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Type != "refresh" {
		t.Fatalf("refresh -json: %v\n%s", err, out)
	}
	sum := ev.Refresh
	st := w.state()
	stopped := map[string]bool{}
	for s := range st.Sends(addrs.Pattern{}) {
		if s.ProviderStatus != state.StatusRead {
			t.Errorf("%s is %q, want read", s.Addr, s.ProviderStatus)
		}
		if s.Reply != nil {
			if s.Reply.Text != "STOP" {
				t.Errorf("%s: reply %+v", s.Addr, s.Reply)
			}
			stopped[s.Phone] = true
		}
	}
	var optedOut []string
	for _, o := range st.OptOuts() {
		optedOut = append(optedOut, o.Phone)
	}
	if len(stopped) == 0 || len(optedOut) != len(stopped) {
		t.Fatalf("%d STOP replies, opt-outs %v", len(stopped), optedOut)
	}
	for _, p := range optedOut {
		if !stopped[p] {
			t.Errorf("%s is opted out without a STOP reply", p)
		}
	}
	want := refreshJSON{Requests: sum.Requests, Statuses: n, Replies: len(stopped), OptOuts: len(stopped),
		Unknown: unknownJSON{Ambiguous: []string{}}}
	if diff := cmp.Diff(want, sum); diff != "" || sum.Requests > 4 {
		t.Errorf("refresh -json (-want +got):\n%s", diff)
	}

	// A second campaign to the same list reaches only those who stayed.
	const second = `
campaign "followup" {
  recipients = recipients.customers

  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name }
  }
}
`
	if err := os.WriteFile(filepath.Join(w.dir, "second.hcl"), []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same content again, on purpose: a resend the operator permits.
	// It goes to phones messaged moments ago (on the wall clock), so it
	// waits out the pair spacing (6s).
	out = w.mustRun(exitOK, "apply", "-auto-approve", "-allow-resend", "-wait")
	if !strings.Contains(out, "pair_spacing: 6s after the previous message to this phone") {
		t.Errorf("the second campaign was not held back by the pair spacing:\n%s", out)
	}
	for phone, got := range w.srv.Stats().ByRecipient {
		if want := map[bool]int{true: 1, false: 2}[stopped[phone]]; got != want {
			t.Errorf("%s got %d messages, want %d", phone, got, want)
		}
	}
}

// TestRefreshLocked runs refresh while another process holds the state:
// exit 3, naming the holder.
func TestRefreshLocked(t *testing.T) {
	w := newWorld(t, 3, sandbox.Options{})
	store, _, err := state.Open(context.Background(), filepath.Join(w.dir, defaultStateName), state.Options{Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, errOut, code := w.run("refresh")
	// The diagnostic is wrapped at 80 columns.
	errOut = strings.Join(strings.Fields(errOut), " ")
	if code != exitLocked || !strings.Contains(errOut, "is locked by pid") || !strings.Contains(errOut, `running "apply"`) {
		t.Fatalf("refresh on a locked state: exit %d\n%s", code, errOut)
	}
	if got := w.srv.Stats().Requests; got != 0 {
		t.Errorf("a locked refresh made %d requests", got)
	}
}

func TestRefreshSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		sum  refresh.Summary
		want string
	}{
		{"nothing", refresh.Summary{Requests: 1},
			"Refresh finished after 1 request to the provider: 0 statuses updated, 0 replies recorded, 0 opt-outs recorded."},
		{"everything", refresh.Summary{Requests: 57, Lookups: 3, Statuses: 1, Replies: 1, OptOuts: 2, Found: 4, Absent: 1,
			Failed: 1, Ambiguous: []addrs.Addr{sendAddr(1), sendAddr(2)}, TooRecent: 1, Incomplete: 1, NotReached: 1},
			"Refresh finished after 57 requests to the provider (3 of them single-message lookups): 1 status updated, " +
				"1 reply recorded, 2 opt-outs recorded. Unknown sends: 4 found at the provider (message_id recorded), " +
				"1 certainly never arrived (due again), 1 failed at the provider (due again, message_id kept), " +
				"2 still unknown (several messages could be theirs), 1 too recent to decide (a later refresh will), " +
				"1 still unknown (the provider's answers were incomplete; the next refresh tries again). Left for the next refresh (lookup cap): " +
				"1 send not in the provider's listing."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refreshSummary(tc.sum, nil); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestAmbiguousDiag(t *testing.T) {
	var addrs []addrs.Addr
	for i := range 12 {
		addrs = append(addrs, sendAddr(i))
	}
	var buf bytes.Buffer
	c := &cli{stderr: &buf}
	c.printDiags(view{noColor: true}, hcl.Diagnostics{ambiguousDiag(addrs)}, nil)
	out := buf.String()
	for _, want := range []string{
		"Warning: Some unknown sends match several messages",
		`campaign.launch.message.hello["255710000000"]`,
		`campaign.launch.message.hello["255710000009"]`,
		"… and 2 more",
		`ujumbe apply -replace=ADDR`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostic lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `hello["255710000010"]`) {
		t.Errorf("diagnostic lists more than 10 sends:\n%s", out)
	}
}

// TestRefreshLateFailures: sends Briq accepted that WhatsApp failed later
// (the sandbox's FailLater, Meta's 131026) are recorded failed by refresh,
// with the code, whether Briq gives it as a string or as a number (the
// docs give it no type), counted failed by show, and never sent again:
// they were accepted.
func TestRefreshLateFailures(t *testing.T) {
	for _, numeric := range []bool{false, true} {
		t.Run(fmt.Sprintf("numeric_codes=%t", numeric), func(t *testing.T) { testRefreshLateFailures(t, numeric) })
	}
}

func testRefreshLateFailures(t *testing.T, numeric bool) {
	const n = 20
	w := newWorld(t, n, sandbox.Options{Seed: 4, Faults: sandbox.Faults{FailLater: 0.3, NumericErrorCodes: numeric}})
	w.mustRun(exitOK, "apply", "-auto-approve")
	if err := w.srv.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	w.mustRun(exitOK, "refresh")
	failed := 0
	for s := range w.state().Sends(addrs.Pattern{}) {
		if s.ProviderStatus == state.StatusFailed {
			failed++
			if s.ErrorCode != "131026" {
				t.Errorf("%s failed with code %q, want Meta's 131026", s.Addr, s.ErrorCode)
			}
		}
	}
	if failed == 0 || failed == n {
		t.Fatalf("%d of %d sends failed later; the seed should fail some", failed, n)
	}
	out := w.mustRun(exitOK, "show", "-no-color")
	if want := fmt.Sprintf("sent %d, delivered %d, read %d", n, n-failed, n-failed); !strings.Contains(out, want) {
		t.Errorf("show lacks %q:\n%s", want, out)
	}
	if !strings.Contains(out, fmt.Sprintf("%d failed", failed)) {
		t.Errorf("show does not count the %d failed sends:\n%s", failed, out)
	}
	if out := w.mustRun(exitOK, "apply", "-auto-approve"); !strings.Contains(out, "No changes.") {
		t.Errorf("apply after the failures:\n%s", out)
	}
	if accepted, unknown := w.audit(); accepted != n || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want %d and 0", accepted, unknown, n)
	}
}

// TestSettle: Briq shows what a send recorded only 15 minutes after it
// answered 504 (-record-lag: its async engine behind; the docs bound
// neither). With the provider block's settle at 20 minutes, the apply 11
// minutes after the sends leaves them unknown, too recent to decide, and
// sends nothing; the one after 21 minutes finds each at Briq: nothing is
// sent twice. (With the default 10 minutes, the first would call them
// absent and send them again.) A settle under 2 minutes is refused.
func TestSettle(t *testing.T) {
	const n = 8 // fewer than the breaker's 10 failures in a row
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{AcceptThen504: 1, RecordLag: 15 * time.Minute}})
	w.replaceInConfig("rate = var.rate\n", "rate = var.rate\n  settle = \"20m\"\n")
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != 0 || unknown != n {
		t.Fatalf("%d accepted, %d unknown after the 504s; want all %d unknown", accepted, unknown, n)
	}
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	advance := func(d time.Duration) {
		if err := w.srv.Advance(d); err != nil {
			t.Fatal(err)
		}
	}
	advance(11 * time.Minute)
	sends := w.srv.Stats().Sends
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve"); !strings.Contains(out, fmt.Sprintf("%d too recent to decide", n)) {
		t.Errorf("the apply 11 minutes later does not leave them too recent to decide:\n%s", out)
	}
	advance(10 * time.Minute)
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve"); !strings.Contains(out, fmt.Sprintf("%d found at the provider", n)) {
		t.Errorf("the apply 21 minutes later does not find them:\n%s", out)
	}
	if st := w.srv.Stats(); st.Sends != sends || st.Accepted != n || len(st.Duplicates) != 0 {
		t.Errorf("the sandbox got %d more sends, accepted %d, duplicates %v; want none more, %d, none", st.Sends-sends, st.Accepted, st.Duplicates, n)
	}
	if accepted, unknown := w.audit(); accepted != n || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want all %d accepted", accepted, unknown, n)
	}
	w.replaceInConfig(`settle = "20m"`, `settle = "30s"`)
	if _, stderr, code := w.run("plan"); code != exitError || !strings.Contains(stderr, "at least 2m0s") {
		t.Errorf("a settle of 30s: exit %d\n%s", code, stderr)
	}
}
