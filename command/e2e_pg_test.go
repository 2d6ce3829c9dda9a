package command

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ujumbe/ujumbe/internal/pgtest"
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
