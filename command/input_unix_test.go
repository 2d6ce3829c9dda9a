//go:build unix

package command

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ujumbe/ujumbe/sandbox"
)

// TestStateAndPlanNotRegular: a state or saved plan path that is a named
// pipe is an error at once, not a read that blocks for good.
func TestStateAndPlanNotRegular(t *testing.T) {
	w := newWorld(t, 2, sandbox.Options{})
	fifo := filepath.Join(w.dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	for _, args := range [][]string{{"plan", "-state=pipe"}, {"apply", "pipe"}, {"state", "list", "-state=pipe"}} {
		_, errOut, code := w.run(args...)
		if code != exitError || !strings.Contains(errOut, "is a named pipe, not a regular file") {
			t.Errorf("ujumbe %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
	}
}
