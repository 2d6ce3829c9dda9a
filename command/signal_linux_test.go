package command

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/sandbox"
)

// holds reports whether process pid has the file path open.
func holds(pid int, path string) bool {
	fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(fds)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}

// stopped starts cmd, sends it SIGTERM once ready says it is at work, and
// returns how it ended and its standard error. The test's own timeout is
// the only bound on how long that takes.
func stopped(t *testing.T, cmd *exec.Cmd, what string, ready func(stdout string) bool) (*exec.ExitError, string) {
	t.Helper()
	out, errb := newSyncBuffer(), newSyncBuffer()
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, what, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("%v ended before the signal: %v\nstdout:\n%s\nstderr:\n%s", cmd.Args, err, out.String(), errb.String())
		default:
		}
		return ready(out.String())
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var exit *exec.ExitError
	if err := <-exited; !errors.As(err, &exit) {
		t.Fatalf("%v after SIGTERM: %v, want a non-zero exit\nstderr:\n%s", cmd.Args, err, errb.String())
	}
	return exit, errb.String()
}

// TestStopsOnSIGTERM: the first SIGTERM stops every command. One busy
// with a large input (loading, planning) ends at once, by the signal, and
// says so; a refresh waiting on the provider and apply -wait waiting for
// the next sends stop themselves, exit 1 and say how to stop at once.
func TestStopsOnSIGTERM(t *testing.T) {
	large := newWorld(t, 500_000, sandbox.Options{})
	csv := filepath.Join(large.dir, "customers.csv")
	for _, args := range [][]string{{"validate"}, {"plan"}, {"show"}, {"apply", "-auto-approve"}} {
		t.Run(args[0], func(t *testing.T) {
			cmd := large.command(args...)
			// Signalled while it reads the large CSV, which it holds open
			// while the rows stream in; apply, once it also holds the
			// state's lock, which it takes meanwhile on another goroutine.
			exit, stderr := stopped(t, cmd, "the command to read customers.csv", func(string) bool {
				if !holds(cmd.Process.Pid, csv) {
					return false
				}
				if args[0] != "apply" {
					return true
				}
				// Apply creates the lock file a moment before it writes
				// its description in it (on a loaded machine, long enough
				// for the signal to come between): wait for the description.
				lock, err := os.ReadFile(filepath.Join(large.dir, "ujumbe.state.lock"))
				return err == nil && strings.Contains(string(lock), `"operation":"apply"`)
			})
			if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Errorf("%v: %v, want the process ended by SIGTERM\n%s", args, exit, stderr)
			}
			if !strings.Contains(stderr, "Interrupted: stopped.") {
				t.Errorf("%v does not say it stopped:\n%s", args, stderr)
			}
			if args[0] != "apply" {
				return
			}
			// Apply held the lock of a state it had not written yet: its
			// lock file says so, and the state is not taken for a lost one.
			lock, err := os.ReadFile(filepath.Join(large.dir, "ujumbe.state.lock"))
			if err != nil || !strings.Contains(string(lock), `"operation":"apply"`) || !strings.Contains(string(lock), `"nothing_written":true`) {
				t.Errorf("lock file after the stopped apply: %q, %v; want apply's description saying it wrote nothing", lock, err)
			}
			if out, errOut, code := large.run("plan"); code != exitOK || !strings.Contains(out, "Plan: 500000 to send.") {
				t.Errorf("plan after the stopped apply: exit %d, want %d and 500000 sends\nstdout:\n%s\nstderr:\n%s", code, exitOK, out, errOut)
			}
		})
	}
	if got := large.srv.Stats().Sends; got != 0 {
		t.Errorf("the sandbox received %d sends from commands stopped before sending", got)
	}

	t.Run("refresh", func(t *testing.T) {
		w := newWorld(t, 10, sandbox.Options{})
		w.mustRun(exitOK, "apply", "-auto-approve")
		if err := w.srv.SetFaults(sandbox.Faults{Latency: time.Hour}); err != nil {
			t.Fatal(err)
		}
		before := w.srv.Stats().Requests
		exit, stderr := stopped(t, w.command("refresh"), "refresh to ask the provider", func(string) bool { return w.srv.Stats().Requests > before })
		if exit.ExitCode() != exitError || !strings.Contains(stderr, "Another SIGTERM stops at once") || !strings.Contains(stderr, "Refresh interrupted") {
			t.Errorf("refresh: %v\n%s", exit, stderr)
		}
	})

	t.Run("apply -wait", func(t *testing.T) {
		w := newWorld(t, 10, sandbox.Options{})
		if err := fixture.WriteCampaign(w.dir, 10, 2); err != nil {
			t.Fatal(err)
		}
		exit, stderr := stopped(t, w.command("apply", "-auto-approve", "-wait"), "apply to wait for the follow-ups",
			func(stdout string) bool { return strings.Contains(stdout, "Waiting until") })
		if exit.ExitCode() != exitError || !strings.Contains(stderr, "Another SIGTERM stops at once") || !strings.Contains(stderr, "Apply stopped") {
			t.Errorf("apply -wait: %v\n%s", exit, stderr)
		}
		if got := w.srv.Stats().Accepted; got != 10 {
			t.Errorf("the sandbox accepted %d, want the 10 first contacts before the wait", got)
		}
	})
}
