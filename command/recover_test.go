package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		"Recover: 3 sends due now;",
		"2 found at the provider (message_id recorded)",
		"Recover: 2 sends to phones holding messages that no send claims became unknown and were searched for (above); 1 send to phones holding none stay due.",
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
