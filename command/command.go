package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
)

// Version is ujumbe's version, overridden at build time with
// -ldflags "-X github.com/ujumbe/ujumbe/command.Version=…".
var Version = "0.1.0-dev"

// cli carries what every command needs: the streams, the working directory
// chosen with -chdir, the environment and a context cancelled on the first
// SIGINT or SIGTERM.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	dir    string   // configuration directory (-chdir), "." by default
	env    []string // the process environment, KEY=VALUE

	// onInterrupt is set while the running command is in a step that
	// winds down by itself on the first interrupt, and says what that
	// waits for; again names what stops at once ("Ctrl-C again"). It is read
	// by the signal watcher, so it is set with windingDown.
	onInterrupt atomic.Pointer[func(again string) string]

	// js is the state of the command's -json output.
	js jsonOut

	// now and sleep, when set, are the clock of real runs instead of the
	// wall clock (tests run apply -wait on their sandbox's clock, see
	// advancing); rehearsals run on the embedded sandbox's clock.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	// items is the room loadPlanConfig reserved for the sends of the first
	// plan built (replan takes it).
	items *plan.Reservation
}

// windingDown starts a step that watches c.ctx and winds down by itself
// soon after the first interrupt, which note describes; calling the
// returned function ends the step, and the first interrupt then ends the
// process at once again (see watchSignals).
func (c *cli) windingDown(note func(again string) string) (end func()) {
	c.onInterrupt.Store(&note)
	return func() { c.onInterrupt.Store(nil) }
}

// getenv returns the value of the environment variable key, or "".
func (c *cli) getenv(key string) string {
	for i := len(c.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(c.env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// path resolves p against the configuration directory unless it is absolute.
// Every path a command takes (-state, -out, -var-file, PLANFILE, report
// -csv, …) goes through it, so that after -chdir=DIR they all mean what
// they would mean in DIR, as after Terraform's -chdir.
func (c *cli) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// A subcommand is one entry of the command table.
type subcommand struct {
	name     string
	synopsis string
	// help is the text printed by `ujumbe NAME -help`: usage line first,
	// then a description and the command's options.
	help string
	run  func(c *cli, args []string) int
}

// commands is the command table; `ujumbe -help` lists it in this order.
var commands = []*subcommand{
	validateCommand,
	fmtCommand,
	planCommand,
	applyCommand,
	refreshCommand,
	showCommand,
	stateCommand,
	importCommand,
	reportCommand,
	graphCommand,
	sandboxCommand,
	versionCommand,
}

// unknownCommand says name is no command, and which it may have meant.
func unknownCommand(name string) string {
	var names []string
	for _, sc := range commands {
		names = append(names, sc.name)
	}
	if near := config.Nearest(name, names); near != "" {
		return fmt.Sprintf("unknown command %q. Did you mean %q?", name, near)
	}
	return fmt.Sprintf("unknown command %q.", name)
}

func lookup(name string) *subcommand {
	for _, sc := range commands {
		if sc.name == name {
			return sc
		}
	}
	return nil
}

// Main runs ujumbe with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// No soft memory limit by default (GOMEMLIMIT sets one): a fixed one
	// below twice the live heap makes the collector run without pause, and
	// a plan of a million recipients with follow-ups needs more than 1 GiB
	// live; 900 MiB made it 1.5-2 times slower (BENCHMARKS.md, issue 12).
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, dir: ".", env: os.Environ()}
	ctx, stop := c.watchSignals()
	defer stop()
	c.ctx = ctx
	return c.main(args)
}

// watchSignals returns a context cancelled on the first SIGINT or SIGTERM.
// What the first signal does depends on what the command is doing. In a
// step that winds down by itself (windingDown: apply's sends in flight, a
// refresh's requests, apply -wait's sleep, the sandbox), the context's
// cancellation stops it, the step's note says what it is waiting for, and a
// second signal ends the process at once. Anywhere else — loading,
// planning, reading the state, writing output — the first signal ends the
// process at once, which loses nothing: every write ujumbe makes is durable
// or atomic, and an intent is durable before its send leaves (SPEC §4.1).
// The process ends by the signal's own default action, as a kill would, so
// it exits non-zero. stop releases the signals.
func (c *cli) watchSignals() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-done:
			return
		}
		// The note is read before the cancellation: a step that ends
		// because of it clears its note, and read after, the process
		// would be killed instead of letting the step finish.
		note := c.onInterrupt.Load()
		cancel()
		again := "Ctrl-C again"
		if sig == syscall.SIGTERM {
			again = "Another SIGTERM"
		}
		if note != nil {
			fmt.Fprintf(c.stderr, "\n%s\n", (*note)(again))
			select {
			case sig = <-sigs:
			case <-done:
				return
			}
		} else {
			fmt.Fprintf(c.stderr, "\nInterrupted: stopped.\n")
		}
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Signal(sig)
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// stoppingNote is the first interrupt's note for a step that stops at once
// when c.ctx is cancelled.
func stoppingNote(again string) string {
	return fmt.Sprintf("Interrupted: stopping. %s stops at once.", capitalize(again))
}

func (c *cli) main(args []string) int {
	fs := flag.NewFlagSet("ujumbe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	chdir := fs.String("chdir", "", "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, mainHelp())
			return exitOK
		}
		code := c.usage(view{}, "", "%v", err)
		fmt.Fprint(c.stderr, mainHelp())
		return code
	}
	if *showVersion {
		return versionCommand.run(c, nil)
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(c.stderr, mainHelp())
		return exitError
	}
	if *chdir != "" {
		switch st, err := os.Stat(*chdir); {
		case errors.Is(err, os.ErrNotExist):
			return c.usage(view{}, "", "-chdir=%s: no such directory", *chdir)
		case err != nil || !st.IsDir():
			return c.usage(view{}, "", "-chdir=%s: not a directory", *chdir)
		}
		c.dir = *chdir
	}
	if args[0] == "help" {
		// "ujumbe help [COMMAND]", as git and go spell -help.
		if len(args) == 1 {
			fmt.Fprint(c.stdout, mainHelp())
			return exitOK
		}
		sc := lookup(args[1])
		switch {
		case args[1] == "help" && len(args) == 2:
			fmt.Fprint(c.stdout, mainHelp())
			return exitOK
		case sc != nil && len(args) == 2:
			fmt.Fprint(c.stdout, sc.help)
			return exitOK
		}
		problem := fmt.Sprintf("help takes one command name, got %q.", args[1:])
		if sc == nil {
			problem = unknownCommand(args[1])
		}
		code := c.usage(view{}, "", "%s", problem)
		fmt.Fprint(c.stderr, mainHelp())
		return code
	}
	sc := lookup(args[0])
	if sc == nil {
		code := c.usage(view{}, "", "%s", unknownCommand(args[0]))
		fmt.Fprint(c.stderr, mainHelp())
		return code
	}
	if wantsHelp(args[1:]) {
		fmt.Fprint(c.stdout, sc.help)
		return exitOK
	}
	c.js.stream = streamingCommands[sc.name]
	defer c.finishJSON()
	return sc.run(c, args[1:])
}

// wantsHelp reports whether the command's own arguments ask for help. Only
// flags before the first positional argument count, as flag parsing would.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

func mainHelp() string {
	var b strings.Builder
	b.WriteString(`Usage: ujumbe [global options] <command> [options] [args]

ujumbe plans and sends WhatsApp campaigns declared in HCL files, through the
Briq API, keeping every message_id in a local state file so that no customer
is ever messaged twice.

Commands:
`)
	names := make([]*subcommand, len(commands))
	copy(names, commands)
	width := 0
	for _, sc := range names {
		width = max(width, len(sc.name))
	}
	for _, sc := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, sc.name, sc.synopsis)
	}
	b.WriteString(`
Global options (before the command):
  -chdir=DIR   Use DIR as the configuration directory. Relative paths given
               to the command (-state, -out, -var-file, PLANFILE, report
               -csv) are relative to DIR too, as if ujumbe ran in DIR.
  -help        Show this help (also "ujumbe help"); "ujumbe COMMAND -help" or
               "ujumbe help COMMAND" shows a command's help.
  -version     Same as the "version" command.
`)
	return b.String()
}

// multiFlag collects the values of a repeatable flag such as -var.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// newFlagSet returns a flag set for a command whose parse errors are printed
// with a pointer to the command's help.
func (c *cli) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if flagSetCreated != nil {
		flagSetCreated(fs)
	}
	return fs
}

// flagSetCreated, when set (by tests), sees every command's flag set, so
// the help can be checked against the flags the commands really accept.
var flagSetCreated func(*flag.FlagSet)

// parseFlags parses args and prints a usage error, as JSON when args ask
// for -json. It returns false when the command must stop with exitError.
func (c *cli) parseFlags(fs *flag.FlagSet, args []string) bool {
	v := view{json: fs.Lookup("json") != nil && wantsJSON(args)}
	if err := fs.Parse(args); err != nil {
		msg := err.Error()
		switch name, _ := strings.CutPrefix(msg, "flag provided but not defined: -"); {
		case fs.Lookup("state") != nil && fs.Lookup("lock-timeout") == nil && name == "lock-timeout":
			// SPEC lists -lock-timeout among the common flags, and a
			// script written for Terraform passes it to plan.
			msg = fs.Name() + " reads the state without taking its lock, so -lock-timeout would do nothing here: leave it out " +
				"(apply, refresh, import and the state commands take the lock and wait for it)."
		case name == "chdir" || strings.HasPrefix(name, "chdir="):
			msg = fmt.Sprintf("-chdir is a global option: it goes before the command, as in: ujumbe -chdir=DIR %s", fs.Name())
		}
		c.usage(v, fs.Name(), "%s", msg)
		return false
	}
	// The flag package stops at the first argument: an option after one
	// is taken for another argument, and then misread.
	for _, a := range fs.Args() {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && fs.Lookup(name) != nil {
			var rest []string
			for _, r := range fs.Args() {
				if r != a {
					rest = append(rest, shellQuote(r))
				}
			}
			c.usage(v, fs.Name(), "%s is an option, and options go before the arguments: ujumbe %s %s %s.", a, fs.Name(), a, strings.Join(rest, " "))
			return false
		}
	}
	return true
}

// wantsJSON reports whether args, which failed to parse, ask for -json:
// the flag parser stops at the first bad flag and may not have reached it.
// As in wantsHelp, what follows "--" does not count.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "-json", "--json", "-json=true", "--json=true":
			return true
		case "--":
			return false
		}
	}
	return false
}
