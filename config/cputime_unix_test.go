//go:build unix

package config

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used:
// a measure of work that other load on the machine does not inflate the
// way it inflates wall-clock time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
