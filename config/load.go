package config

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/inputfile"
)

// LoadOptions are the inputs of Load besides the directory.
type LoadOptions struct {
	// Vars are -var values, "name=value", in command-line order.
	Vars []string
	// VarFiles are -var-file paths, opened as given (the caller resolves
	// them against the directory it means).
	VarFiles []string
	// Env is the environment, os.Environ style; UJUMBE_VAR_name=value sets
	// variable name.
	Env []string
	// Sized, when not nil, is called with Config.Sends once the
	// configuration is decoded without errors so far, while Load still
	// looks for duplicate phone numbers and keys among the recipients: a
	// plan allocates its sends meanwhile.
	Sized func(sends int)
}

// rootSchema lists the top-level blocks; there are no top-level attributes.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "recipients", LabelNames: []string{"name"}},
		{Type: "suppress", LabelNames: []string{"name"}},
		{Type: "campaign", LabelNames: []string{"name"}},
		{Type: "moved"},
		{Type: "backend", LabelNames: []string{"type"}},
		{Type: "frequency_cap"},
	},
}

// loader holds the state of one Load.
type loader struct {
	dir    string
	opts   LoadOptions
	parser *hclparse.Parser
	cfg    *Config
	diags  hcl.Diagnostics

	vars   map[string]*variable
	locals map[string]*local
	tables map[string]*csvTable // CSV files read so far, by name
	// later are diagnostics still being found (the recipients'
	// duplicates), each to go where the diagnostics ended when it began.
	later []laterDiags
}

type laterDiags struct {
	at   int
	wait func() hcl.Diagnostics
}

// Load reads every *.hcl file of dir and the files they name, and returns the
// configuration with every problem found, each at its source range. The
// Config is never nil; when the diagnostics contain errors it is incomplete
// and only Files (for printing the diagnostics) is dependable.
//
// Precedence of variable values, lowest first: the default, UJUMBE_VAR_name,
// each -var-file in order, each -var in order.
func Load(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	l := &loader{
		dir:    filepath.Clean(dir),
		opts:   opts,
		parser: hclparse.NewParser(),
		vars:   map[string]*variable{},
		locals: map[string]*local{},
		tables: map[string]*csvTable{},
	}
	l.cfg = &Config{
		Dir:        dir,
		Files:      map[string]*hcl.File{},
		sums:       map[string][sha256.Size]byte{},
		Provider:   defaultProvider(),
		Recipients: map[string]*RecipientSet{},
		Suppress:   map[string]*SuppressSet{},
	}
	l.load()
	if l.opts.Sized != nil && !l.diags.HasErrors() {
		l.opts.Sized(l.cfg.Sends())
	}
	// In their places, the last first: an insertion moves what follows.
	for i := len(l.later) - 1; i >= 0; i-- {
		d := l.later[i]
		l.diags = slices.Insert(l.diags, d.at, d.wait()...)
	}
	for name, f := range l.parser.Files() {
		l.cfg.Files[name] = f
	}
	l.resolveCSV()
	return l.cfg, l.diags
}

// resolveCSV gives the diagnostics about CSV rows their ranges, and the
// printer the CSV lines they show, and records the sums of the CSV files.
func (l *loader) resolveCSV() {
	for name, t := range l.tables {
		if err := t.resolve(l.diags); err != nil {
			l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "Cannot read CSV file", Detail: readFailed(name, err)})
		}
		l.cfg.Files[name].Bytes = t.src
		if t.summed {
			l.cfg.sums[name] = t.sum
		}
	}
}

func (l *loader) load() {
	bodies := l.parseDir()
	if bodies == nil || l.diags.HasErrors() {
		// After a syntax error the rest would be judged on a partial
		// file, and mostly report its consequences.
		return
	}
	var blocks hcl.Blocks
	for _, body := range bodies {
		content, diags := body.Content(rootSchema)
		for _, d := range diags {
			if d.Summary == "Unsupported argument" {
				// name = value at the top: most likely variable values in a
				// file named like the configuration.
				d.Detail += " Only blocks go at the top level of a configuration file. If this file holds variable values, " +
					"name it *.vars and pass it with -var-file: every *.hcl file in the directory is read as configuration."
			}
		}
		l.diags = append(l.diags, diags...)
		blocks = append(blocks, content.Blocks...)
	}
	byType := map[string]hcl.Blocks{}
	for _, b := range blocks {
		byType[b.Type] = append(byType[b.Type], b)
	}

	// Each step needs the names the previous ones defined.
	l.decodeVariables(byType["variable"])
	l.decodeLocals(byType["locals"])
	l.cfg.root = &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   l.varObject(),
			"local": l.localObject(),
		},
		Functions: functions,
	}
	l.decodeProviders(byType["provider"])
	l.decodeRecipients(byType["recipients"])
	l.decodeSuppress(byType["suppress"])
	l.decodeCampaigns(byType["campaign"])
	l.decodeMoved(byType["moved"])
	l.decodeBackends(byType["backend"])
	l.decodeFrequencyCaps(byType["frequency_cap"])
}

// parseDir parses the directory's *.hcl files in name order and returns
// their bodies, or nil when there is nothing to load.
func (l *loader) parseDir() []hcl.Body {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read the configuration directory",
			Detail:   fmt.Sprintf("Reading %s failed: %s.", l.dir, err),
		})
		return nil
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".hcl") || ignoredFile(name) {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("The directory %s has no *.hcl files. Run ujumbe in the directory of your campaign files, or point to it with -chdir=DIR.", l.dir),
		})
		return nil
	}
	bodies := make([]hcl.Body, 0, len(names))
	for _, name := range names {
		path := l.path(name)
		src, err := inputfile.ReadFile(path)
		if err != nil {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read configuration file",
				Detail:   readFailed(path, err),
			})
			continue
		}
		f, diags := l.parser.ParseHCL(src, path)
		l.diags = append(l.diags, diags...)
		if f != nil {
			bodies = append(bodies, f.Body)
		}
	}
	return bodies
}

// ignoredFile reports whether name is an editor's temporary or backup file,
// which Terraform skips too.
func ignoredFile(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~")
}

// path returns the name of a file of the configuration directory as ranges
// and Config.Files show it.
func (l *loader) path(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(l.dir, name)
}

// blockName returns the block's first label after checking that it is a
// valid identifier, since names become parts of addresses.
func (l *loader) blockName(b *hcl.Block) (string, bool) {
	name := b.Labels[0]
	if !addrs.ValidName(name) {
		l.diags = append(l.diags, errorf(b.LabelRanges[0], "Invalid name",
			"%q is not a valid %s name. A name starts with a letter or underscore and may contain letters, digits, underscores and dashes.", name, b.Type))
		return name, false
	}
	return name, true
}

// duplicate reports a block whose name was already declared at prev.
func (l *loader) duplicate(b *hcl.Block, name string, prev hcl.Range) {
	l.diags = append(l.diags, errorf(b.DefRange, fmt.Sprintf("Duplicate %s", b.Type),
		"A %s named %q was already declared at %s. Names must be unique.", b.Type, name, prev))
}
