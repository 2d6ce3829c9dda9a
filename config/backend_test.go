package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

func TestLoadBackend(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		env  []string
		want Backend
		diag string // a substring of the diagnostics, or "" for none
	}{
		{name: "no block", src: `variable "x" {}`, want: Backend{Type: BackendLocal}},
		{name: "local path", src: `backend "local" { path = "s/ujumbe.state" }`, want: Backend{Type: BackendLocal, Path: "s/ujumbe.state"}},
		{name: "pg", src: `backend "pg" {
  conn_str    = "postgres://ops@db.internal/campaigns"
  schema_name = "team_a"
}`, want: Backend{Type: BackendPG, ConnStr: "postgres://ops@db.internal/campaigns", SchemaName: "team_a"}},
		{name: "pg from the environment", src: `backend "pg" {}`, env: []string{"PG_CONN_STR=postgres://x@h/d", "PG_SCHEMA_NAME=env_schema"},
			want: Backend{Type: BackendPG, ConnStr: "postgres://x@h/d", SchemaName: "env_schema"}},
		{name: "the block wins over the environment", src: `backend "pg" { conn_str = "postgres://a@h/d" }`, env: []string{"PG_CONN_STR=postgres://b@h/d"},
			want: Backend{Type: BackendPG, ConnStr: "postgres://a@h/d", SchemaName: DefaultSchemaName}},
		{name: "no connection string", src: `backend "pg" {}`, diag: "needs conn_str in the block or PG_CONN_STR"},
		{name: "bad schema name", src: `backend "pg" {
  conn_str    = "postgres://h/d"
  schema_name = "Team-A"
}`, diag: `"Team-A" is not a schema name`},
		{name: "bad schema name from the environment", src: `backend "pg" { conn_str = "postgres://h/d" }`, env: []string{"PG_SCHEMA_NAME=a;drop"}, diag: "PG_SCHEMA_NAME"},
		{name: "variables are not allowed", src: `backend "pg" { conn_str = var.x }`, diag: "must be a non-empty literal string"},
		{name: "unknown type", src: `backend "s3" {}`, diag: "Unsupported backend"},
		{name: "unknown attribute", src: `backend "pg" { password = "x" }`, diag: "Unsupported argument"},
		{name: "two blocks", src: "backend \"local\" {}\nbackend \"pg\" { conn_str = \"postgres://h/d\" }", diag: "Duplicate backend block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": tc.src})
			be, _, diags := LoadBackend(dir, tc.env)
			if tc.diag != "" {
				if !strings.Contains(diags.Error(), tc.diag) {
					t.Fatalf("diagnostics %q, want one saying %q", diags.Error(), tc.diag)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if d := cmp.Diff(&tc.want, be, cmpopts.IgnoreTypes(hcl.Range{})); d != "" {
				t.Fatalf("backend (-want +got):\n%s", d)
			}
		})
	}
}

// TestValidateNeedsNoDatabase: a pg backend without a connection string is
// fine for Load (validate), which opens no state.
func TestValidateNeedsNoDatabase(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.hcl": `backend "pg" {}`})
	cfg, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Backend.Type != BackendPG || cfg.Backend.SchemaName != DefaultSchemaName {
		t.Fatalf("backend %+v", cfg.Backend)
	}
}
