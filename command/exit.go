package command

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// Exit codes, as SPEC §2 defines them.
const (
	exitOK      = 0 // success, or nothing to do
	exitError   = 1 // any error, including an apply that stopped partway
	exitChanges = 2 // plan -detailed-exitcode: sends are pending
	exitLocked  = 3 // the state is locked by another run
)

// exitCodes maps the errors that have an exit code of their own to it,
// found anywhere in an error's chain. Every other error exits with
// exitError: SPEC §2 gives one code to every failure (an apply stopped by
// the breaker, a fatal answer, an interrupt or a state it could not write
// included) except a state locked by another run, which cron must be able
// to tell from a failure, and so a rehearsal whose sandbox another
// rehearsal runs. exitChanges is no error: plan returns it itself.
var exitCodes = []struct {
	err  error
	code int
}{
	{state.ErrLocked, exitLocked},
	{sandbox.ErrBusy, exitLocked},
}

// exitCode is the exit code of a command that stops on err.
func exitCode(err error) int {
	for _, e := range exitCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return exitError
}

// fail is the one way a command stops on an error: it prints err as an
// error diagnostic, through the diagnostics printer (so as JSON with
// -json), and returns the exit code err calls for. summary heads the
// diagnostic of a runtime error, whose text, capitalised, is the detail
// ("Cannot read the state" / "Open ujumbe.state: …"); a usage error is
// its own summary and summary is not used.
func (c *cli) fail(v view, summary string, err error) int {
	if ce, ok := errors.AsType[*configError](err); ok {
		// The configuration's own diagnostics say what and where.
		c.printDiags(v, ce.diags, ce.files)
		return exitError
	}
	c.printDiags(v, hcl.Diagnostics{errorDiag(summary, err)}, nil)
	return exitCode(err)
}

// A configError is a configuration that cannot be read, as its
// diagnostics, with the files they point into, say.
type configError struct {
	diags hcl.Diagnostics
	files map[string]*hcl.File
}

func (e *configError) Error() string { return e.diags.Error() }

// errorDiag turns err into a sourceless error diagnostic, headed summary
// unless err is a usage error.
func errorDiag(summary string, err error) *hcl.Diagnostic {
	if u, ok := errors.AsType[*usageError](err); ok {
		return sourceless(hcl.DiagError, u.msg, u.detail())
	}
	detail := capitalize(err.Error())
	if !strings.HasSuffix(detail, ".") && !strings.HasSuffix(detail, "?") {
		detail += "."
	}
	return sourceless(hcl.DiagError, summary, detail)
}

// A usageError is a mistake on the command line: an unknown flag, a
// missing or extra argument, flags that do not go together.
type usageError struct {
	msg string
	// help, when set, is the command whose -help the diagnostic points to.
	help string
}

func (e *usageError) Error() string { return e.msg }

// detail is the diagnostic's detail: where to read the command's options.
func (e *usageError) detail() string {
	if e.help == "" {
		return ""
	}
	return fmt.Sprintf("Run \"ujumbe %s -help\" for the command's options.", e.help)
}

// usage prints a usage error, whose message is format's, through fail;
// help, when not "", is the command whose -help it points to.
func (c *cli) usage(v view, help, format string, a ...any) int {
	return c.fail(v, "", &usageError{msg: fmt.Sprintf(format, a...), help: help})
}
