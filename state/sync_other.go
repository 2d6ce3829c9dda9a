//go:build !linux

package state

import "os"

// fdatasync makes f's data (and its size) durable: where the system has no
// fdatasync, with f.Sync (on macOS an F_FULLFSYNC).
func fdatasync(f *os.File) error { return f.Sync() }
