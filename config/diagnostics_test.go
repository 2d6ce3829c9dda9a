package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/internal/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestDiagnostics loads each directory of testdata/diags, one per class of
// error, and compares the diagnostics, as the command prints them, with the
// directory's diagnostics.golden. A file named vars in the directory holds
// -var values, one per line. Run with -update to rewrite the golden files.
func TestDiagnostics(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "diags", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no test cases in testdata/diags")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var opts LoadOptions
			if b, err := os.ReadFile(filepath.Join(dir, "vars")); err == nil {
				opts.Vars = strings.Split(strings.TrimSpace(string(b)), "\n")
			}
			cfg, diags := Load(dir, opts)
			diags = append(diags, cfg.Check()...)
			if !diags.HasErrors() {
				t.Errorf("no errors; every case should have some")
			}
			got := diagText(cfg.Files, diags)
			goldenfile.Check(t, filepath.Join(dir, "diagnostics.golden"), []byte(got), *update)
		})
	}
}
