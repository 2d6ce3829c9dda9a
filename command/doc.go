// Package command is ujumbe's user interface: it parses flags, wires the
// config, plan, apply, state, briq and sandbox packages together, prints
// everything the user sees (output, progress, diagnostics) and maps outcomes
// to exit codes.
//
// Only this package prints; only main.go exits. Other packages return values,
// hcl.Diagnostics for problems a user can fix in their files, and wrapped
// errors for runtime failures, which this package classifies: errorDiag
// turns one into a diagnostic, and each command picks its exit code
// (apply through applier.fail).
package command
