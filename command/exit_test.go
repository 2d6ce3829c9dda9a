package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/apply"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestExitCode checks the table against SPEC §2: a locked state, wrapped
// however deep, exits 3; every other failure, an apply stopped partway
// included, exits 1.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{state.ErrLocked, exitLocked},
		{fmt.Errorf("open ujumbe.state: %w", fmt.Errorf("lock: %w", state.ErrLocked)), exitLocked},
		{errors.Join(errors.New("close"), state.ErrLocked), exitLocked},
		{fmt.Errorf("%w: %w", apply.ErrJournal, state.ErrClosed), exitError},
		{apply.ErrInterrupted, exitError},
		{apply.ErrBreaker, exitError},
		{fmt.Errorf("%w: campaign.a.message.b[\"k\"]: %w", apply.ErrFatal, &briq.Error{Op: "send message", Class: briq.Fatal}), exitError},
		{plan.ErrStale, exitError},
		{state.ErrCorrupt, exitError},
		{&usageError{msg: "plan takes no arguments"}, exitError},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestLockedExitCode runs every command that locks the state while
// another process holds it: each exits 3, and with -json says why in a
// JSON diagnostic, as an event or in its document.
func TestLockedExitCode(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	w.mustRun(exitOK, "apply", "-auto-approve")
	store, _, err := state.Open(context.Background(), filepath.Join(w.dir, defaultStateName), state.Options{Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const addr = "campaign.launch.message.hello"
	for _, tc := range []struct{ cmd, args []string }{
		{[]string{"apply"}, []string{"-auto-approve"}},
		{[]string{"refresh"}, nil},
		{[]string{"state", "rm"}, []string{addr}},
		{[]string{"state", "mv"}, []string{addr, addr + "x"}},
	} {
		t.Run(strings.Join(tc.cmd, " "), func(t *testing.T) {
			_, errOut, code := w.run(slices.Concat(tc.cmd, tc.args)...)
			if code != exitLocked || !strings.Contains(errOut, "Error: Cannot open the state") {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitLocked, errOut)
			}
			out, errOut, code := w.run(slices.Concat(tc.cmd, []string{"-json"}, tc.args)...)
			if code != exitLocked || errOut != "" {
				t.Errorf("-json: exit %d, want %d; stderr:\n%s", code, exitLocked, errOut)
			}
			if !hasJSONDiagnostic(out, "Cannot open the state") {
				t.Errorf("-json: no diagnostic \"Cannot open the state\" on stdout:\n%s", out)
			}
		})
	}
}

// hasJSONDiagnostic reports whether the -json output out carries an
// error diagnostic headed summary: in a diagnostic event, or in the
// document's diagnostics.
func hasJSONDiagnostic(out, summary string) bool {
	for line := range strings.Lines(out) {
		var v struct {
			Diagnostic  *diagJSON  `json:"diagnostic"`
			Diagnostics []diagJSON `json:"diagnostics"`
		}
		if json.Unmarshal([]byte(line), &v) != nil {
			return false
		}
		if v.Diagnostic != nil {
			v.Diagnostics = append(v.Diagnostics, *v.Diagnostic)
		}
		for _, d := range v.Diagnostics {
			if d.Severity == "error" && d.Summary == summary {
				return true
			}
		}
	}
	return false
}

// TestRehearsalBusyExitCode: a rehearsal whose embedded sandbox another
// process runs (a rehearsal apply still going) exits 3, as a locked state
// does, so a wrapper can tell it from a failure.
func TestRehearsalBusyExitCode(t *testing.T) {
	dir := copyExample(t, "follow-ups")
	if err := os.MkdirAll(filepath.Join(dir, rehearsalDir), 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.New(sandbox.Options{DataFile: filepath.Join(dir, rehearsalDir, "sandbox.data")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := &world{t: t, dir: dir}
	if _, errOut, code := w.run("plan", "-sandbox"); code != exitLocked || !strings.Contains(errOut, "is in use") {
		t.Errorf("plan -sandbox beside a running rehearsal: exit %d, want %d\n%s", code, exitLocked, errOut)
	}
}

// TestReadersNameTheLockHolder: plan, show and state list read the state
// without its lock; while another run holds it they say so, naming the
// run, since its sends in flight show as unknown. Once it ends they do
// not.
func TestReadersNameTheLockHolder(t *testing.T) { eachBackend(t, testReadersNameTheLockHolder) }

func testReadersNameTheLockHolder(t *testing.T, backend string) {
	if runtime.GOOS != "linux" && backend == "local" {
		t.Skip("the holder of a file state's lock is found from /proc/locks, which only Linux has")
	}
	w := newWorld(t, 2, sandbox.Options{}).on(backend)
	w.mustRun(exitOK, "apply", "-auto-approve")
	store := w.openStore(state.Options{Operation: "apply"})
	readers := [][]string{{"plan"}, {"show"}, {"state", "list"}}
	for _, args := range readers {
		_, errOut, code := w.run(args...)
		if code != exitOK || !strings.Contains(errOut, "Warning: Another run holds the state's lock") ||
			!strings.Contains(errOut, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(errOut, `running "apply"`) {
			t.Errorf("%v while a run holds the lock: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
	if out, _, _ := w.run("plan", "-json"); !strings.Contains(out, `"summary":"Another run holds the state's lock"`) {
		t.Errorf("plan -json while a run holds the lock lacks the warning:\n%s", out)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, args := range readers {
		if _, errOut, code := w.run(args...); code != exitOK || strings.Contains(errOut, "lock") {
			t.Errorf("%v after the run ended: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
}
