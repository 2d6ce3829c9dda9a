package command

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/internal/pgtest"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// eachBackend runs test on the local file and on PostgreSQL (skipped, with
// a message naming UJUMBE_TEST_PG, when no server is given).
func eachBackend(t *testing.T, test func(t *testing.T, backend string)) {
	for _, b := range []string{"local", "pg"} {
		t.Run(b, func(t *testing.T) { test(t, b) })
	}
}

// on keeps the world's state on backend: for "pg", a schema of its own on
// the UJUMBE_TEST_PG server, named in a backend block of the configuration.
func (w *world) on(backend string) *world {
	w.t.Helper()
	if backend != "pg" {
		return w
	}
	dsn, schema := pgtest.Schema(w.t)
	w.pg = &state.PG{ConnStr: dsn, Schema: schema}
	w.writeBackend()
	return w
}

func (w *world) writeBackend() {
	w.t.Helper()
	src := fmt.Sprintf("backend \"pg\" {\n  conn_str    = %q\n  schema_name = %q\n}\n", w.pg.ConnStr, w.pg.Schema)
	if err := os.WriteFile(filepath.Join(w.dir, "backend.hcl"), []byte(src), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// clone is a second checkout of the world's configuration in a directory of
// its own, with the same backend and sandbox: another machine.
func (w *world) clone() *world {
	w.t.Helper()
	c := *w
	c.dir = w.t.TempDir()
	if err := fixture.WriteConfig(c.dir, w.n); err != nil {
		w.t.Fatal(err)
	}
	c.writeBackend()
	return &c
}

// TestPGTwoMachines applies one campaign from two checkouts at once, as two
// people or two cron hosts do, sharing the state in PostgreSQL: every
// recipient gets exactly one message; then again with one of the two killed
// mid-run, several times: the other takes over once the server releases
// the dead one's lock, and still nobody gets two.
func TestPGTwoMachines(t *testing.T) {
	n := 3000
	if raceEnabled {
		n = 1500
	}
	rng := newTestRand(t)
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "both finish", true: "one killed"}[kill], func(t *testing.T) {
			var a, b *world
			for round := range 3 {
				if kill || a == nil {
					// Each kill on a fresh campaign, so that it lands mid-run.
					a = newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{Latency: 2 * time.Millisecond, Jitter: 4 * time.Millisecond}}).on("pg")
					b = a.clone()
				}
				cmds := []*exec.Cmd{
					a.command("apply", "-auto-approve", "-lock-timeout=60s", "-parallelism=16"),
					b.command("apply", "-auto-approve", "-lock-timeout=60s", "-parallelism=16"),
				}
				outs := make([]bytes.Buffer, 2)
				for i, cmd := range cmds {
					cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
				}
				if kill {
					time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
					_ = cmds[rng.IntN(2)].Process.Signal(syscall.SIGKILL)
				}
				for i, cmd := range cmds {
					err := cmd.Wait()
					if !kill && err != nil {
						t.Fatalf("round %d: checkout %d: %v\n%s", round, i, err, outs[i].String())
					}
				}
				accepted, unknown := a.audit()
				t.Logf("round %d: %d accepted, %d unknown", round, accepted, unknown)
				if !kill && accepted != n {
					t.Fatalf("round %d: %d accepted, want %d", round, accepted, n)
				}
				if kill {
					// The survivor may have finished, or found the state
					// locked by the dying run until the server noticed.
					b.mustRun(exitOK, "apply", "-auto-approve")
					accepted, unknown := a.audit()
					if accepted+unknown != n || a.srv.Stats().Accepted > n {
						t.Fatalf("round %d: %d accepted + %d unknown, the sandbox accepted %d; want %d", round, accepted, unknown, a.srv.Stats().Accepted, n)
					}
				}
			}
		})
	}
}

// TestPGStatePushPull moves a state from the local file into PostgreSQL and
// back with the commands: until it is pushed every command refuses to start
// from the empty database; pushed, it is the same state; pulled, it is a
// local state file that reads the same. The connection string's password
// appears in no output.
func TestPGStatePushPull(t *testing.T) {
	w := newWorld(t, 200, sandbox.Options{})
	w.mustRun(exitOK, "apply", "-auto-approve")
	local := w.state()

	dsn, schema := pgtest.Schema(t)
	// A password the server ignores (trust authentication) but that the
	// commands must never print.
	withPW := strings.Replace(dsn, "://postgres@", "://postgres:hunter2secret@", 1)
	w.pg = &state.PG{ConnStr: withPW, Schema: schema}
	w.writeBackend()
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}, {"refresh"}, {"show"}, {"state", "list"}} {
		out, errOut, code := w.run(args...)
		if msg := strings.Join(strings.Fields(errOut), " "); code != exitError || !strings.Contains(msg, "state push") || !strings.Contains(msg, "200 sends") {
			t.Fatalf("%v before the push: exit %d\n%s%s", args, code, out, errOut)
		}
		if strings.Contains(out+errOut, "hunter2secret") {
			t.Fatalf("%v prints the password:\n%s%s", args, out, errOut)
		}
	}
	if got := w.srv.Stats().Accepted; got != 200 {
		t.Fatalf("the sandbox accepted %d, want the first 200 only", got)
	}
	out := w.mustRun(exitOK, "state", "push", defaultStateName)
	if strings.Contains(out, "hunter2secret") || !strings.Contains(out, "schema "+schema) {
		t.Fatalf("push says:\n%s", out)
	}
	// The same serial again is no change; a newer state in the backend
	// (after the apply below refreshes statuses) would be refused.
	w.mustRun(exitOK, "state", "push", defaultStateName)
	if err := os.Rename(filepath.Join(w.dir, defaultStateName), filepath.Join(w.dir, "old.state")); err != nil {
		t.Fatal(err)
	}
	diffCommandStates(t, local, w.state())
	out = w.mustRun(exitOK, "apply", "-auto-approve")
	if !strings.Contains(out, "No changes.") {
		t.Fatalf("apply after the push:\n%s", out)
	}

	for _, args := range [][]string{{"plan", "-out=saved.plan"}, {"plan", "-json"}, {"show", "-json"}, {"report", "-csv=report.csv"}, {"state", "list"}} {
		if out := w.mustRun(exitOK, args...); strings.Contains(out, "hunter2secret") {
			t.Fatalf("%v prints the password:\n%s", args, out)
		}
	}
	for _, name := range []string{"saved.plan", "report.csv"} {
		if b, err := os.ReadFile(filepath.Join(w.dir, name)); err != nil || bytes.Contains(b, []byte("hunter2secret")) {
			t.Fatalf("%s holds the password (or cannot be read: %v)", name, err)
		}
	}

	pulled := w.mustRun(exitOK, "state", "pull")
	if err := os.WriteFile(filepath.Join(w.dir, "pulled.state"), []byte(pulled), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _, err := state.Read(filepath.Join(w.dir, "pulled.state"))
	if err != nil {
		t.Fatal(err)
	}
	// The apply may have recorded refreshed statuses since the push.
	diffCommandStates(t, w.state(), st)
}

func diffCommandStates(t *testing.T, want, got *state.State) {
	t.Helper()
	if want.Lineage() != got.Lineage() || want.Serial() != got.Serial() || want.Len() != got.Len() {
		t.Fatalf("state %s/%d with %d sends, want %s/%d with %d", got.Lineage(), got.Serial(), got.Len(), want.Lineage(), want.Serial(), want.Len())
	}
	for s := range want.Sends(addrs.Pattern{}) {
		g, ok := got.Get(s.Addr)
		if !ok || g.MessageID != s.MessageID || g.Outcome != s.Outcome {
			t.Fatalf("%s: got %+v, want %+v", s.Addr, g, s)
		}
	}
}

// TestPGServerRestart restarts the database server in the middle of an
// apply: the apply stops, with an error, taking no new sends; at most the
// sends in flight are left unknown; the next apply finishes the job, and
// nobody gets two messages. Restarting the server disturbs every other test
// using it, so this one runs only when UJUMBE_TEST_PG_RESTART holds the
// command that restarts it, on its own (.ci/run does so after the suite).
func TestPGServerRestart(t *testing.T) {
	restart := os.Getenv("UJUMBE_TEST_PG_RESTART")
	if restart == "" {
		t.Skip("UJUMBE_TEST_PG_RESTART is not set: set it to the command that restarts the UJUMBE_TEST_PG server, such as \"pg_ctlcluster --skip-systemctl-redirect 15 main restart\", and run this test alone")
	}
	const n, parallelism = 3000, 16
	w := newWorld(t, n, sandbox.Options{Faults: sandbox.Faults{Latency: 20 * time.Millisecond}}).on("pg")
	cmd := w.command("apply", "-auto-approve", "-var=rate=300", fmt.Sprintf("-parallelism=%d", parallelism))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); w.srv.Stats().Accepted < 300 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if b, err := exec.Command("sh", "-c", restart).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", restart, err, b)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitError {
		t.Fatalf("apply across a server restart: %v, want exit 1\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "schema "+w.pg.Schema) {
		t.Errorf("the apply's error does not name the database:\n%s", out.String())
	}
	t.Logf("apply said:\n%s", out.String())
	sentBefore := w.srv.Stats().Accepted
	accepted, unknown := w.audit()
	t.Logf("stopped by the restart: %d sent, %d accepted and %d unknown in the state", sentBefore, accepted, unknown)
	if unknown > parallelism || accepted+unknown == n {
		t.Fatalf("%d unknown (at most %d in flight), %d accepted of %d: the apply must stop partway", unknown, parallelism, accepted, n)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	accepted, unknown = w.audit()
	if accepted+unknown != n {
		t.Fatalf("after the next apply: %d accepted + %d unknown, want %d", accepted, unknown, n)
	}
}

// TestPGSavedPlanBackend: a saved plan records where its state is (the
// local file's path; the database and schema, never the connection
// string), and is refused when the configuration's backend changed since:
// a plan made from a local file never applies to the team's state.
func TestPGSavedPlanBackend(t *testing.T) {
	w := newWorld(t, 3, sandbox.Options{})
	w.mustRun(exitOK, "plan", "-out=local.plan")
	w.on("pg")
	b, err := os.ReadFile(filepath.Join(w.dir, "local.plan"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"backend":"local file `+filepath.Join(w.dir, "ujumbe.state")+`"`) {
		t.Fatalf("the saved plan does not record its backend:\n%.300s", b)
	}
	_, errOut, code := w.run("apply", "local.plan")
	if said := strings.Join(strings.Fields(errOut), " "); code != exitError || !strings.Contains(said, "made from the state in local file") || !strings.Contains(said, "schema "+w.pg.Schema) {
		t.Fatalf("a local plan applied to a pg state: exit %d\n%s", code, errOut)
	}
	w.mustRun(exitOK, "plan", "-out=pg.plan")
	if b, _ = os.ReadFile(filepath.Join(w.dir, "pg.plan")); !strings.Contains(string(b), `schema `+w.pg.Schema+`"`) || strings.Contains(string(b), w.pg.ConnStr) {
		t.Fatalf("the pg plan's backend record:\n%.300s", b)
	}
	w.mustRun(exitOK, "apply", "pg.plan")
	if accepted, _ := w.audit(); accepted != 3 {
		t.Fatalf("%d accepted, want 3", accepted)
	}
}

// TestPGApplyWaitFollowUps runs a campaign with a follow-up after a reply
// with apply -wait against the sandbox, the state in PostgreSQL: apply
// sends the template, waits the question's ten minutes, sends the question,
// refreshes the answers and sends the code to everyone who answered yes;
// running it again changes nothing. Every message goes out exactly once,
// as the sandbox saw it, and the state holds each one's message_id. The
// run is on the sandbox's clock (runOnSandboxClock): the waits move it
// forward, so nothing depends on how fast this machine is.
func TestPGApplyWaitFollowUps(t *testing.T) {
	const n = 50
	silent := 0.0
	w := newWorld(t, n, sandbox.Options{Answers: map[string]float64{"yes": 1}, Silent: &silent,
		ReplyDelay: sandbox.ReplyDelay{Min: time.Millisecond, Max: 10 * time.Millisecond}}).on("pg")
	if err := fixture.WriteCampaign(w.dir, n, 3); err != nil {
		t.Fatal(err)
	}
	start := w.srv.Now()
	out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-wait")
	for _, want := range []string{`answered "yes" (Yes please): 50`, "Nothing more is scheduled."} {
		if !strings.Contains(out, want) {
			t.Fatalf("apply -wait lacks %q:\n%s", want, out)
		}
	}
	// One round per message: the template, the question once due, the
	// code once answered.
	if got := strings.Count(out, fmt.Sprintf("Apply finished: %d sent.", n)); got != 3 {
		t.Errorf("apply -wait sent in %d rounds of %d, want 3:\n%s", got, n, out)
	}
	if out := w.runOnSandboxClock(exitOK, "apply", "-auto-approve", "-wait"); !strings.Contains(out, "No changes.") {
		t.Errorf("apply -wait again:\n%s", out)
	}

	stats := w.srv.Stats()
	if len(stats.Duplicates) > 0 {
		t.Fatalf("the sandbox accepted duplicates: %+v", stats.Duplicates)
	}
	if want := map[string]int{"template": n, "interactive": n, "text": n}; !maps.Equal(stats.ByKind, want) {
		t.Errorf("the sandbox accepted %v, want %v", stats.ByKind, want)
	}
	for i := range n {
		if got := stats.ByRecipient[fixture.Phone(i)]; got != 3 {
			t.Errorf("%s got %d messages, want 3", fixture.Phone(i), got)
		}
	}
	ids := map[string]bool{}
	for _, m := range stats.Messages {
		ids[m.ID] = true
	}
	recorded := 0
	for s := range w.state().Sends(addrs.Pattern{}) {
		recorded++
		if s.Outcome != state.OutcomeAccepted || !ids[s.MessageID] {
			t.Errorf("%s: outcome %v, message_id %q, want accepted with one of the sandbox's ids", s.Addr, s.Outcome, s.MessageID)
		}
		delete(ids, s.MessageID)
		// The question went out once its ten minutes had passed on the
		// sandbox's clock, not before.
		if s.Addr.Message == "ask" && s.IntentAt.Sub(start) < 10*time.Minute {
			t.Errorf("%s was sent %v after the run started, before its 10m delay", s.Addr, s.IntentAt.Sub(start))
		}
	}
	if recorded != 3*n || len(ids) > 0 {
		t.Errorf("the state records %d sends, want %d; message_ids the sandbox accepted and the state lacks: %d", recorded, 3*n, len(ids))
	}
}

// runOnSandboxClock runs ujumbe in this process on the sandbox's clock, as
// a rehearsal does: apply -wait's waits move the clock forward instead of
// sleeping. It fails the test unless the exit code is want.
func (w *world) runOnSandboxClock(want int, args ...string) string {
	w.t.Helper()
	out, errOut, code := w.runInProcess(args...)
	if code != want {
		w.t.Fatalf("ujumbe %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// runInProcess runs ujumbe in this process on the sandbox's clock and
// returns its output and exit code.
func (w *world) runInProcess(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	c := &cli{ctx: w.t.Context(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, dir: w.dir,
		env: w.command().Env, now: w.srv.Now, sleep: advancing(w.srv)}
	code = c.main(args)
	return out.String(), errb.String(), code
}

// TestPGRevertAfterPush: a missing file is not pushed as an empty state. A
// state pushed into PostgreSQL stays in its local
// file as a copy, which knows nothing of the sends made through the
// database since. When the backend block goes (a reverted commit), the
// copy must not become the state again: every command that would plan or
// record refuses it, naming the database, and nobody is messaged twice;
// show still reads it, with a warning.
func TestPGRevertAfterPush(t *testing.T) {
	const n = 10
	w := newWorld(t, n, sandbox.Options{})
	w.mustRun(exitOK, "apply", "-auto-approve", "-target="+sendAt("hello", 0))
	dsn, schema := pgtest.Schema(t)
	w.pg = &state.PG{ConnStr: dsn, Schema: schema}
	w.writeBackend()
	// A mistyped file is no state to push, and leaves the database as it
	// was: empty, for the real push.
	if out, errOut, code := w.run("state", "push", "nosuch.state"); code != exitError || !strings.Contains(errOut, "no such file") {
		t.Errorf("push of a missing file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if out := w.mustRun(exitOK, "state", "push", defaultStateName); !strings.Contains(out, defaultStateName+".pushed marks it") {
		t.Fatalf("push says:\n%s", out)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	if err := os.Remove(filepath.Join(w.dir, "backend.hcl")); err != nil {
		t.Fatal(err)
	}
	w.pg = nil
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}, {"refresh"}} {
		out, errOut, code := w.run(args...)
		if msg := strings.Join(strings.Fields(errOut), " "); code != exitError || !strings.Contains(msg, "was pushed into PostgreSQL") || !strings.Contains(msg, "schema "+schema) {
			t.Errorf("%v after the revert: exit %d, want %d and the push named\nstdout:\n%s\nstderr:\n%s", args, code, exitError, out, errOut)
		}
	}
	if out, errOut, code := w.run("show"); code != exitOK || !strings.Contains(errOut, "A copy of a pushed state") {
		t.Errorf("show of the copy: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for phone, got := range w.srv.Stats().ByRecipient {
		if got != 1 {
			t.Errorf("%s accepted the template %d times, want once", phone, got)
		}
	}
	if got := len(w.srv.Stats().ByRecipient); got != n {
		t.Errorf("%d phones got the template, want %d", got, n)
	}
}

// TestPGUnpushedNamedState: a team that kept its state at a path of its
// own (backend "local" { path = "state/prod.state" }) replaces the block
// with a pg one and forgets state push. The block that named the file is
// gone, but the file is found: every command refuses to start from the
// empty database, and nobody is messaged twice.
func TestPGUnpushedNamedState(t *testing.T) {
	const n = 3
	w := newWorld(t, n, sandbox.Options{})
	local := "backend \"local\" {\n  path = \"state/prod.state\"\n}\n"
	if err := os.Mkdir(filepath.Join(w.dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "backend.hcl"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustRun(exitOK, "apply", "-auto-approve")
	dsn, schema := pgtest.Schema(t)
	w.pg = &state.PG{ConnStr: dsn, Schema: schema}
	w.writeBackend()
	for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}} {
		out, errOut, code := w.run(args...)
		if msg := strings.Join(strings.Fields(errOut), " "); code != exitError || !strings.Contains(msg, "state push "+filepath.Join("state", "prod.state")) {
			t.Errorf("%v on the empty database: exit %d, want %d and the file named\nstdout:\n%s\nstderr:\n%s", args, code, exitError, out, errOut)
		}
	}
	for phone, got := range w.srv.Stats().ByRecipient {
		if got != 1 {
			t.Errorf("%s accepted the template %d times, want once", phone, got)
		}
	}
}
