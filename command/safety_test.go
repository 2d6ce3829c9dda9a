package command

import (
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestReauthKeepsTheID: WHATSAPP_REAUTH_REQUIRED stops the apply (exit 1)
// and the send it answered keeps the pollable message_id, in doubt: the
// next apply does not send it again. Once refresh confirms, after the settle
// time, that the record failed, it is a retry, and the apply after that
// sends it with the failed id kept in its history.
func TestReauthKeepsTheID(t *testing.T) {
	const n = 20
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{Reauth: true}})
	_, errOut, code := w.run("apply", "-auto-approve", "-parallelism=1")
	if code != exitError || !strings.Contains(errOut, "WHATSAPP_REAUTH_REQUIRED") {
		t.Fatalf("apply under reauth: exit %d\n%s", code, errOut)
	}
	stats := w.srv.Stats()
	if len(stats.Messages) != 1 || stats.Accepted != 0 {
		t.Fatalf("the sandbox recorded %d messages (%d accepted), want the one failed record", len(stats.Messages), stats.Accepted)
	}
	failed := stats.Messages[0]
	var first state.Send
	for s := range w.state().Sends(addrs.Pattern{}) {
		first = s
	}
	if first.Outcome != state.OutcomeUnknown || first.MessageID != failed.ID || first.ErrorCode != "WHATSAPP_REAUTH_REQUIRED" {
		t.Fatalf("the answered send: %+v, want unknown with the record's id %s", first, failed.ID)
	}

	// Re-authorised: everyone else is sent; the send in doubt waits.
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	out := w.mustRun(exitOK, "apply", "-auto-approve")
	if !strings.Contains(out, "1 unknown") {
		t.Errorf("plan does not show the send in doubt:\n%s", out)
	}
	if got := w.srv.Stats().ByRecipient[first.Phone]; got != 0 {
		t.Fatalf("the send in doubt was sent again before refresh looked at its record (%d accepted)", got)
	}

	sum := w.refreshAt(time.Now().Add(refresh.DefaultSettle + time.Second))
	if sum.Failed != 1 {
		t.Fatalf("refresh: %+v, want the failed record confirmed", sum)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	accepted, unknown := w.audit()
	if accepted != n || unknown != 0 {
		t.Fatalf("%d accepted, %d unknown; want %d, 0", accepted, unknown, n)
	}
	s, _ := w.state().Get(first.Addr)
	if len(s.History) != 1 || s.History[0].MessageID != failed.ID || s.MessageID == failed.ID {
		t.Errorf("after the resend: %+v, want the failed id %s in the history", s, failed.ID)
	}
	if out := w.mustRun(exitOK, "state", "show", first.Addr.String()); !strings.Contains(out, failed.ID) {
		t.Errorf("state show does not name the failed attempt's id:\n%s", out)
	}
}

// TestRenameWithSendsInDoubt: an apply whose answers were lost leaves its
// sends in doubt (?), and the campaign is then renamed without a moved
// block. The sends in doubt may have reached their phones as much as
// accepted ones (SPEC §4.1): the plan of the renamed campaign is a resend,
// refused unless -allow-resend, and nobody gets the template twice. Run
// without the refresh that would settle the doubt first, as an apply
// whose refresh finds Briq's records late would be.
func TestRenameWithSendsInDoubt(t *testing.T) {
	const n = 3
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{DropAfterAccept: 1}})
	w.run("apply", "-auto-approve")
	if _, unknown := w.audit(); unknown != n {
		t.Fatalf("%d sends in doubt, want %d", unknown, n)
	}
	if err := w.srv.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	w.replaceInConfig(`campaign "launch"`, `campaign "launch_2"`)
	// Without pair spacing, which would hold the sends back a few seconds
	// past this apply.
	w.replaceInConfig("rate = var.rate\n", "rate = var.rate\n  pair_spacing = \"0s\"\n")
	out, errOut, code := w.run("apply", "-auto-approve", "-refresh=false")
	if code != exitError || !strings.Contains(errOut, "Same content to phones that already accepted it") ||
		!strings.Contains(errOut, "in doubt") || !strings.Contains(errOut, "from = campaign.launch\n") {
		t.Errorf("apply of the renamed campaign: exit %d, want %d and the resend guard naming the sends in doubt\nstdout:\n%s\nstderr:\n%s", code, exitError, out, errOut)
	}
	for phone, got := range w.srv.Stats().ByRecipient {
		if got != 1 {
			t.Errorf("%s accepted the template %d times, want once", phone, got)
		}
	}
}

// TestSavedPlanOfAnotherEmptyState: a plan made from an empty state has no
// lineage to tell that state from another empty one. Applied, it must not
// apply again to another state file that is still empty: the plan records
// where its state is, and nobody gets the template twice. Applied again to
// its own state, it is refused as that state having changed.
func TestSavedPlanOfAnotherEmptyState(t *testing.T) {
	const n = 3
	w := newWorld(t, n, sandbox.Options{})
	w.mustRun(exitOK, "plan", "-out=launch.plan")
	w.mustRun(exitOK, "apply", "launch.plan")
	out, errOut, code := w.run("apply", "-state=other.state", "launch.plan")
	if code != exitError || !strings.Contains(strings.Join(strings.Fields(errOut), " "), "a plan applies only to the state it was made from") {
		t.Errorf("the plan applied to another empty state: exit %d, want %d and a refusal\nstdout:\n%s\nstderr:\n%s", code, exitError, out, errOut)
	}
	// Its own state, which the plan began: changed, not another.
	out, errOut, code = w.run("apply", "launch.plan")
	if code != exitError || !strings.Contains(strings.Join(strings.Fields(errOut), " "), "the state changed since the plan was made (it was empty, now serial") {
		t.Errorf("the plan applied again: exit %d, want %d and a refusal saying the state changed\nstdout:\n%s\nstderr:\n%s", code, exitError, out, errOut)
	}
	for phone, got := range w.srv.Stats().ByRecipient {
		if got != 1 {
			t.Errorf("%s accepted the template %d times, want once", phone, got)
		}
	}
}
