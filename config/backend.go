package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// Backend types.
const (
	BackendLocal = "local"
	BackendPG    = "pg"
)

// DefaultSchemaName is the pg backend's schema when neither schema_name nor
// PG_SCHEMA_NAME gives one.
const DefaultSchemaName = "ujumbe"

// Backend holds the settings of the backend block: where the state lives.
type Backend struct {
	// Type is BackendLocal (also without a backend block) or BackendPG.
	Type string
	// Path is the local backend's state file as written (relative to the
	// configuration directory), or "" for the default.
	Path string
	// ConnStr is the pg backend's connection string, from conn_str or
	// PG_CONN_STR. It may carry a password: never print it.
	ConnStr string
	// SchemaName is the pg backend's schema, from schema_name,
	// PG_SCHEMA_NAME or DefaultSchemaName.
	SchemaName string
	// DeclRange is the backend block's header, or an empty range without one.
	DeclRange hcl.Range
}

var backendSchemas = map[string]*hcl.BodySchema{
	BackendLocal: {Attributes: []hcl.AttributeSchema{{Name: "path"}}},
	BackendPG:    {Attributes: []hcl.AttributeSchema{{Name: "conn_str"}, {Name: "schema_name"}}},
}

// backendRootSchema picks the backend blocks out of a file, for LoadBackend.
var backendRootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}},
}

// schemaName is what PostgreSQL takes as an unquoted identifier, within its
// 63-byte limit, so that it never needs quoting rules of its own.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// LoadBackend reads only the backend block of the configuration in dir, for
// the commands that need the state but not the campaigns (state list, rm,
// pull, push). Other blocks are neither decoded nor checked. The files
// it parsed are for printing the diagnostics.
func LoadBackend(dir string, env []string) (*Backend, map[string]*hcl.File, hcl.Diagnostics) {
	l := &loader{dir: dir, opts: LoadOptions{Env: env}, parser: hclparse.NewParser(), cfg: &Config{}}
	bodies := l.parseDir()
	if l.diags.HasErrors() {
		return nil, l.parser.Files(), l.diags
	}
	var blocks hcl.Blocks
	for _, body := range bodies {
		content, _, diags := body.PartialContent(backendRootSchema)
		l.diags = append(l.diags, diags...)
		blocks = append(blocks, content.Blocks...)
	}
	l.decodeBackends(blocks)
	be := l.cfg.Backend
	if be.Type == BackendPG && be.ConnStr == "" && !l.diags.HasErrors() {
		l.diags = append(l.diags, errorf(be.DeclRange, "Missing connection string",
			"The pg backend needs conn_str in the block or PG_CONN_STR in the environment, such as \"postgres://ops@db.internal/campaigns\"."))
	}
	return be, l.parser.Files(), l.diags
}

func (l *loader) decodeBackends(blocks hcl.Blocks) {
	l.cfg.Backend = &Backend{Type: BackendLocal}
	var seen *hcl.Block
	for _, b := range blocks {
		schema, ok := backendSchemas[b.Labels[0]]
		if !ok {
			l.diags = append(l.diags, errorf(b.LabelRanges[0], "Unsupported backend",
				"The state lives in a local file (backend \"local\") or in PostgreSQL (backend \"pg\").%s",
				didYouMean(b.Labels[0], []string{BackendLocal, BackendPG})))
			continue
		}
		if seen != nil {
			l.diags = append(l.diags, errorf(b.DefRange, "Duplicate backend block",
				"A configuration has one backend; another is declared at %s.", seen.DefRange))
			continue
		}
		seen = b
		content, diags := b.Body.Content(schema)
		l.diags = append(l.diags, diags...)
		l.decodeBackend(b, content.Attributes)
	}
	be := l.cfg.Backend
	if be.Type != BackendPG {
		return
	}
	if be.ConnStr == "" {
		be.ConnStr = l.env("PG_CONN_STR")
	}
	if be.SchemaName == "" {
		be.SchemaName = l.env("PG_SCHEMA_NAME")
		if be.SchemaName != "" && !schemaName.MatchString(be.SchemaName) {
			l.diags = append(l.diags, errorf(be.DeclRange, "Invalid PG_SCHEMA_NAME", "PG_SCHEMA_NAME %s", badSchemaName(be.SchemaName)))
		}
	}
	if be.SchemaName == "" {
		be.SchemaName = DefaultSchemaName
	}
	// A missing connection string is an error only where the state is
	// opened (LoadBackend): validate needs no database, as it needs no API
	// key.
}

func (l *loader) decodeBackend(b *hcl.Block, attrs hcl.Attributes) {
	be := l.cfg.Backend
	be.Type, be.DeclRange = b.Labels[0], b.DefRange
	literal := func(name string) (string, *hcl.Attribute, bool) {
		a, ok := attrs[name]
		if !ok {
			return "", nil, false
		}
		// Like Terraform's, the backend is read before variables exist, so
		// its attributes are literal strings.
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String || v.IsNull() || strings.TrimSpace(v.AsString()) == "" {
			l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid "+name,
				"%s must be a non-empty literal string; a backend cannot use variables or functions.", name))
			return "", a, false
		}
		return v.AsString(), a, true
	}
	if s, _, ok := literal("path"); ok {
		be.Path = s
	}
	if s, _, ok := literal("conn_str"); ok {
		be.ConnStr = s
	}
	if s, a, ok := literal("schema_name"); ok {
		if !schemaName.MatchString(s) {
			l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid schema_name", "schema_name %s", badSchemaName(s)))
		} else {
			be.SchemaName = s
		}
	}
}

// env returns the environment variable name, or "".
func (l *loader) env(name string) string {
	for _, kv := range l.opts.Env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// badSchemaName says why s is refused as a schema name.
func badSchemaName(s string) string {
	return fmt.Sprintf("%q is not a schema name ujumbe uses: lower-case letters, digits and underscores, starting with a letter or underscore, at most 63 characters.", s)
}
