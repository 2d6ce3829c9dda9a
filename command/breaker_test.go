package command

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestApplyUnreachableRecipients is the finding of a list where 30% of the
// numbers are not on WhatsApp: before, the failure breaker stopped every
// apply after about 50 sends (20 failed), so cron crawled through the list.
// Now the whole list goes in one run, each unreachable number recorded as
// failed for good with its code.
func TestApplyUnreachableRecipients(t *testing.T) {
	const n = 2000
	w := newWorld(t, n, sandbox.Options{Seed: 11, Faults: sandbox.Faults{Unreachable: 0.3}})
	out := w.mustRun(exitOK, "apply", "-auto-approve")
	m := regexp.MustCompile(`Apply finished: (\d+) sent, (\d+) failed\.`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary with failures:\n%s", out)
	}
	failed := 0
	for s := range w.state().Sends(addrs.Pattern{}) {
		switch {
		case s.Outcome == state.OutcomeFailed && s.ErrorCode == "RECIPIENT_UNREACHABLE":
			failed++
		case s.Outcome != state.OutcomeAccepted:
			t.Fatalf("%s is %s (%s)", s.Addr, s.Outcome, s.ErrorCode)
		}
	}
	if failed < n/4 || failed > n*35/100 || m[2] != itoa(failed) {
		t.Errorf("%d recorded unreachable, summary %q; want about 30%% of %d", failed, m[0], n)
	}
	if accepted, _ := w.audit(); accepted+failed != n {
		t.Errorf("%d accepted + %d failed, want %d", accepted, failed, n)
	}
	t.Logf("%s", m[0])

	// Nothing is due any more: the failed sends are x, with their code.
	plan := w.mustRun(exitOK, "plan", "-no-color")
	if !strings.Contains(plan, "No changes.") || !strings.Contains(plan, "RECIPIENT_UNREACHABLE") {
		t.Errorf("plan after the apply:\n%s", plan)
	}
}

// TestApplyBreakerMessage stops an apply against a failing provider, with
// the counts, the window and the dominant error code, at the provider
// block's thresholds.
func TestApplyBreakerMessage(t *testing.T) {
	const n = 2000
	w := newWorld(t, n, sandbox.Options{Seed: 3, Faults: sandbox.Faults{ProviderFail: 0.5, Unreachable: 0.1}})
	w.replaceInConfig("rate = var.rate", "rate = var.rate\n  max_failure_rate = 0.4\n  failure_window = 100\n  max_consecutive_failures = 0")
	_, stderr, code := w.run("apply", "-auto-approve", "-parallelism=1")
	if code != exitError {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
	}
	text := strings.Join(strings.Fields(stderr), " ")
	re := regexp.MustCompile(`[Tt]oo many sends are failing: (\d+) of the last (\d+) counted outcomes failed or are in doubt \(window 100; the limit is 40%, max_failure_rate = 0.4\); most often (PROVIDER_UNAVAILABLE|SEND_FAILED) \(\d+ of \d+\); (\d+) failures of single recipients`)
	if re.FindStringSubmatch(text) == nil {
		t.Fatalf("stderr does not give the counts, window and code:\n%s", stderr)
	}
	t.Logf("%s", re.FindString(text))
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestOutageKeepsCustomers is cron through an outage: every run meets a
// provider it cannot reach, and the failure breaker stops it after a few
// sends. Those attempts were the run's failures, not the sends': more
// runs than the attempts limit later, no send is given up on, each says
// what happened, and once Briq answers again every customer gets the
// message once. A key Briq refuses stops apply before its first send.
func TestOutageKeepsCustomers(t *testing.T) {
	t.Parallel() // it mostly waits out apply's back-off
	const n = 30
	w := newWorld(t, n, sandbox.Options{Seed: 5})
	run := func(env ...string) (string, int) {
		t.Helper()
		cmd := w.command("apply", "-auto-approve", "-no-color")
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if err != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return string(out), code
	}

	out, code := run("BRIQ_API_KEY=not-the-key")
	if code != exitError || !strings.Contains(out, "Briq refused the account") {
		t.Fatalf("apply with a key Briq refuses: exit %d\n%s", code, out)
	}
	if sends := w.srv.Stats().Sends; sends != 0 || w.state().Len() != 0 {
		t.Fatalf("apply with a key Briq refuses: %d sends reached the sandbox, %d recorded", sends, w.state().Len())
	}

	down := "BRIQ_BASE_URL=" + closedURL(t)
	for i := range plan.DefaultMaxAttempts + 1 {
		if out, code := run(down); code == exitOK {
			t.Fatalf("apply %d against an unreachable provider: exit 0\n%s", i, out)
		}
	}
	tried := 0
	for s := range w.state().Sends(addrs.Pattern{}) {
		tried++
		if s.Outcome != state.OutcomeRetry || !s.Systemic || !strings.Contains(s.ErrorMessage, "refused") {
			t.Errorf("%s after the outage: %s, systemic %v, %q", s.Addr, s.Outcome, s.Systemic, s.ErrorMessage)
		}
	}
	if tried == 0 {
		t.Fatal("no send was tried during the outage")
	}
	if plan := w.mustRun(exitOK, "plan", "-no-color"); strings.Contains(plan, "expired") || strings.Contains(plan, "gave up") {
		t.Errorf("plan after the outage gives up on customers:\n%s", plan)
	}
	if show := w.mustRun(exitOK, "state", "show", `campaign.launch.message.hello["255710000000"]`); !strings.Contains(show, `failure          = "the run's (not counted against the attempts)"`) {
		t.Errorf("state show of a send the outage held back:\n%s", show)
	}
	if report := w.mustRun(exitOK, "report", "-csv=-"); !strings.Contains(report, "\n255710000000,255710000000,launch,hello,,retry,") || !strings.Contains(report, ",true\n") {
		t.Errorf("report -csv of the sends the outage held back, which lacks systemic = true:\n%s", report)
	}

	w.mustRun(exitOK, "apply", "-auto-approve")
	if accepted, _ := w.audit(); accepted != n {
		t.Errorf("%d accepted after the outage, want %d", accepted, n)
	}
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}
