//go:build unix

package config

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// TestInputsNotRegular: a csv path, a -var-file or a *.hcl file that is a
// named pipe or a device is an error naming it, at once: reading would block
// for good or never end.
func TestInputsNotRegular(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.hcl": spreadsheetConfig("")})
	fifo := filepath.Join(dir, "r.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	check := func(name string, opts LoadOptions, want string) {
		t.Helper()
		done := make(chan hcl.Diagnostics, 1)
		go func() {
			_, diags := Load(dir, opts)
			done <- diags
		}()
		select {
		case diags := <-done:
			var text string
			for _, d := range diags {
				text += d.Detail + "\n"
			}
			if !diags.HasErrors() || !strings.Contains(text, want) {
				t.Errorf("%s: diagnostics lack %q:\n%s", name, want, text)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Load blocked", name)
		}
	}
	check("csv named pipe", LoadOptions{}, "r.csv is a named pipe, not a regular file")
	check("var-file device", LoadOptions{VarFiles: []string{"/dev/zero"}}, "/dev/zero is a character device, not a regular file")
	if err := syscall.Mkfifo(filepath.Join(dir, "extra.hcl"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("hcl named pipe", LoadOptions{}, "extra.hcl is a named pipe, not a regular file")
}
