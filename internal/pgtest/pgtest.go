package pgtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN returns UJUMBE_TEST_PG, skipping the test when it is unset (failing it
// under CI).
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("UJUMBE_TEST_PG")
	if dsn == "" {
		const why = "UJUMBE_TEST_PG is not set: set it to a PostgreSQL connection string (such as postgres://postgres@127.0.0.1:5432/postgres) to run the tests of the pg backend"
		if os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return dsn
}

var seq atomic.Int64

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// Schema returns a new schema name for t, dropped when t ends, and the DSN.
func Schema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = DSN(t)
	name := notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 30 {
		name = name[:30]
	}
	schema = fmt.Sprintf("t_%s_%d_%d", name, os.Getpid(), seq.Add(1))
	t.Cleanup(func() { Exec(t, dsn, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
	return dsn, schema
}

// Exec runs sql on the server at dsn.
func Exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to UJUMBE_TEST_PG: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
