package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/sandbox"
)

// TestRecoverAfterRestore follows the README's restore: the state is put
// back to its backup, which lacks the sends of the apply after it. The
// plan would send those again; refresh -recover finds them at the provider,
// and the next apply sends only the one that never went. Nobody gets a
// message twice, and every message the sandbox accepted is in the state.
func TestRecoverAfterRestore(t *testing.T) {
	const n = 4
	w := newWorld(t, n, sandbox.Options{})
	target := func(i int) string { return fmt.Sprintf(`-target=campaign.launch.message.hello[%q]`, fixture.Phone(i)) }
	w.mustRun(exitOK, "apply", "-auto-approve", target(0))
	w.mustRun(exitOK, "apply", "-auto-approve", target(1), target(2))

	path := filepath.Join(w.dir, defaultStateName)
	backup, err := os.ReadFile(path + ".backup")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".wal"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if out := w.mustRun(exitOK, "plan"); !strings.Contains(out, "Plan: 3 to send, 1 done.") {
		t.Fatalf("the restored state's plan:\n%s", out)
	}

	out := w.mustRun(exitOK, "refresh", "-recover")
	for _, want := range []string{
		"Recover: the plan still has 3 sends to make (due or scheduled);",
		"2 found at the provider (message_id recorded)",
		"Recover: 2 sends to phones holding messages that no send claims (or whose listing failed) were recorded and searched for (above); 1 send to phones holding none stay as planned.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("refresh -recover lacks %q:\n%s", want, out)
		}
	}
	if out := w.mustRun(exitOK, "apply", "-auto-approve"); !strings.Contains(out, "Apply finished: 1 sent.") {
		t.Errorf("apply after recovering:\n%s", out)
	}
	if accepted, unknown := w.audit(); accepted != n || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want %d and 0", accepted, unknown, n)
	}
}

// copyState copies the world's state files (snapshot and journal) from
// the names from to the names to; a missing file is missing at to too.
func (w *world) copyState(from, to string) {
	w.t.Helper()
	for _, suffix := range []string{"", ".wal"} {
		b, err := os.ReadFile(filepath.Join(w.dir, from+suffix))
		switch {
		case os.IsNotExist(err):
			if err := os.Remove(filepath.Join(w.dir, to+suffix)); err != nil && !os.IsNotExist(err) {
				w.t.Fatal(err)
			}
			continue
		case err != nil:
			w.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.dir, to+suffix), b, 0o600); err != nil {
			w.t.Fatal(err)
		}
	}
}

// TestRecoverScheduledFollowUp: the copy restored holds the question,
// accepted and not yet answered; after it, the customer answered yes and
// the code went out. To the copy the code is scheduled (awaiting the
// answer), not due, and still refresh -recover finds it: the next apply
// sends nothing twice. (Found in review: -recover looked only at sends
// due when it started.)
func TestRecoverScheduledFollowUp(t *testing.T) {
	const n = 4
	w := newWorld(t, n, sandbox.Options{Answers: map[string]float64{"yes": 1}, Silent: new(0.0)})
	if err := fixture.WriteCampaign(w.dir, n, 3); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if err := w.srv.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	w.copyState(defaultStateName, "copy.state")
	if err := w.srv.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "refresh")
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve"); !strings.Contains(out, fmt.Sprintf("Apply finished: %d sent.", n)) {
		t.Fatalf("the codes were not sent:\n%s", out)
	}
	sent := w.srv.Stats().Accepted

	w.copyState("copy.state", defaultStateName)
	if err := w.srv.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	out := w.runOnSandboxClock(exitOK, "refresh", "-recover")
	if !strings.Contains(out, fmt.Sprintf("%d found at the provider", n)) {
		t.Errorf("refresh -recover did not find the %d codes:\n%s", n, out)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if st := w.srv.Stats(); st.Accepted != sent || len(st.Duplicates) > 0 {
		t.Errorf("after recovering: %d accepted (before: %d), duplicates %v", st.Accepted, sent, st.Duplicates)
	}
}

// TestRecoverAfterPlainRefresh: a plain refresh ran on the restored copy
// an hour later (as cron would) before refresh -recover. It records status
// times, and must not move the time recover looks from past the lost send.
func TestRecoverAfterPlainRefresh(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	target := func(i int) string { return fmt.Sprintf(`-target=campaign.launch.message.hello[%q]`, fixture.Phone(i)) }
	w.mustRun(exitOK, "apply", "-auto-approve", target(0))
	w.copyState(defaultStateName, "copy.state")
	w.mustRun(exitOK, "apply", "-auto-approve", target(1))
	w.copyState("copy.state", defaultStateName)
	if err := w.srv.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	w.refreshAt(time.Now().Add(time.Hour))
	if out := w.mustRun(exitOK, "refresh", "-recover"); !strings.Contains(out, "1 found at the provider") {
		t.Errorf("refresh -recover did not find the lost send:\n%s", out)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != 2 || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want 2 and 0", accepted, unknown)
	}
}

// TestRecoverNeedsSinceForEmptyState: a copy that records no send cannot
// say since when sends may be missing; -recover asks for -recover-since
// instead of taking every message ever sent to a phone as a lost send.
func TestRecoverNeedsSinceForEmptyState(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	w.mustRun(exitOK, "apply", "-auto-approve")
	if err := os.Rename(filepath.Join(w.dir, defaultStateName), filepath.Join(w.dir, "gone.state")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".wal", ".backup"} {
		os.Remove(filepath.Join(w.dir, defaultStateName+name))
	}
	_, errOut, code := w.run("refresh", "-recover")
	if code != exitError || !strings.Contains(errOut, "Error: Cannot recover") || !strings.Contains(errOut, "-recover-since=TIME") {
		t.Errorf("exit %d, want 1 asking for -recover-since:\n%s", code, errOut)
	}
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if out := w.mustRun(exitOK, "refresh", "-recover", "-recover-since="+since); !strings.Contains(out, "2 found at the provider") {
		t.Errorf("refresh -recover -recover-since did not find the 2 sends:\n%s", out)
	}
	if out := w.mustRun(exitOK, "apply", "-auto-approve"); !strings.Contains(out, "No changes.") {
		t.Errorf("apply after recovering:\n%s", out)
	}
}

// TestRecoverScheduledSend: when refresh -recover runs, the send the copy
// lost is outside its campaign's send window, so scheduled, not due. It is
// found all the same, and the next window sends nothing twice. (Found in
// review: -recover looked only at sends due when it ran.)
func TestRecoverScheduledSend(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	now := w.srv.Now().UTC()
	from, to := now.Add(time.Hour), now.Add(3*time.Hour)
	w.replaceInConfig("recipients = recipients.customers\n", fmt.Sprintf("recipients = recipients.customers\n  send_window {\n    from      = %q\n    to        = %q\n    time_zone = \"UTC\"\n  }\n",
		from.Format("15:04"), to.Format("15:04")))
	if err := w.srv.Advance(90 * time.Minute); err != nil {
		t.Fatal(err)
	}
	target := func(i int) string { return fmt.Sprintf(`-target=campaign.launch.message.hello[%q]`, fixture.Phone(i)) }
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve", target(0))
	w.copyState(defaultStateName, "copy.state")
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve", target(1))
	w.copyState("copy.state", defaultStateName)
	if err := w.srv.Advance(3 * time.Hour); err != nil { // after the window
		t.Fatal(err)
	}
	if out := w.runOnSandboxClock(exitOK, "refresh", "-recover"); !strings.Contains(out, "1 found at the provider") {
		t.Errorf("refresh -recover did not find the scheduled send:\n%s", out)
	}
	if err := w.srv.Advance(21 * time.Hour); err != nil { // the next day's window
		t.Fatal(err)
	}
	w.runOnSandboxClock(exitOK, "apply", "-auto-approve")
	if accepted, unknown := w.audit(); accepted != 2 || unknown != 0 {
		t.Errorf("%d accepted, %d unknown; want 2 and 0", accepted, unknown)
	}
}
