package command

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/addrs"
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
