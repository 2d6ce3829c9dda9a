// Package command is ujumbe's user interface: it parses flags, wires the
// config, plan, apply, state, briq and sandbox packages together, prints
// everything the user sees (output, progress, diagnostics) and maps outcomes
// to exit codes.
//
// Only this package prints; only main.go exits. Other packages return values,
// hcl.Diagnostics for problems a user can fix in their files, and wrapped
// errors for runtime failures. Every error a command stops on goes through
// one function, fail in exit.go: it prints the error as a diagnostic (JSON
// under -json) and takes the exit code from one table of sentinel errors.
package command
