package command

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/state"
)

// defaultStateName is the state file's name in the configuration directory.
const defaultStateName = "ujumbe.state"

// rehearsalDir holds the state and the embedded sandbox's data of -sandbox
// runs, apart from the real state.
const rehearsalDir = ".ujumbe-sandbox"

// configFlags are the flags that choose the configuration's variables.
type configFlags struct {
	vars, varFiles multiFlag
}

func (f *configFlags) add(fs *flag.FlagSet) {
	fs.Var(&f.vars, "var", "")
	fs.Var(&f.varFiles, "var-file", "")
}

// loadConfig loads the configuration of the working directory.
func (c *cli) loadConfig(f configFlags) (*config.Config, hcl.Diagnostics) {
	return config.Load(c.dir, c.loadOptions(f))
}

// loadPlanConfig is loadConfig for a command that plans: as soon as the
// number of sends is known, while the recipients are still being checked,
// it reserves room for them (plan.Reserve) for the first plan to take.
func (c *cli) loadPlanConfig(f configFlags) (*config.Config, hcl.Diagnostics) {
	opts := c.loadOptions(f)
	opts.Sized = func(n int) { c.items = plan.Reserve(n) }
	return config.Load(c.dir, opts)
}

func (c *cli) loadOptions(f configFlags) config.LoadOptions {
	return config.LoadOptions{Vars: f.vars, VarFiles: c.paths(f.varFiles), Env: c.env}
}

// paths resolves each of ps with path.
func (c *cli) paths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = c.path(p)
	}
	return out
}

// stateFlags choose the state file and how long to wait for its lock.
type stateFlags struct {
	path        string
	lockTimeout time.Duration
	sandbox     bool
	// inspect marks a command that only looks at the state (show, report,
	// state list|show|pull): a -state that names no state is a mistake
	// there, not a state with nothing sent yet.
	inspect bool
	// restored marks refresh -recover, which opens a state put back from
	// a backup (state.Options.Restored).
	restored bool
}

func (f *stateFlags) add(fs *flag.FlagSet, withLock bool) {
	fs.StringVar(&f.path, "state", "", "")
	fs.BoolVar(&f.sandbox, "sandbox", false, "")
	if withLock {
		fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "")
	}
}

// stateLoc is where the state lives: a file, or a schema in PostgreSQL.
type stateLoc struct {
	path string    // the local backend's file
	pg   *state.PG // the pg backend, or nil
}

// String names the state for messages and reports; never a password.
func (l stateLoc) String() string {
	if l.pg != nil {
		return l.pg.String()
	}
	return l.path
}

// stateLocation is where the state is: with -sandbox the rehearsal's file,
// apart from the real state whatever the backend; else the configuration's
// backend block, whose local path -state overrides (relative to the
// configuration directory, like every path option), or ujumbe.state in the
// configuration directory.
func (c *cli) stateLocation(f stateFlags) (stateLoc, error) {
	if f.sandbox && f.path != "" {
		return stateLoc{}, fmt.Errorf("-state and -sandbox do not go together: a rehearsal keeps its own state in %s. "+
			"Drop -state to use it, or -sandbox to use %s", filepath.Join(rehearsalDir, defaultStateName), f.path)
	}
	if f.sandbox {
		return stateLoc{path: filepath.Join(c.dir, rehearsalDir, defaultStateName)}, nil
	}
	be, files, diags := config.LoadBackend(c.dir, c.env)
	if diags.HasErrors() {
		return stateLoc{}, &configError{diags: diags, files: files}
	}
	switch {
	case be.Type == config.BackendPG && f.path != "":
		return stateLoc{}, fmt.Errorf("-state names a local state file, but the configuration keeps its state in %s (backend \"pg\" at %s); use state pull and state push to move a state between them",
			(&state.PG{ConnStr: be.ConnStr, Schema: be.SchemaName}).String(), be.DeclRange)
	case be.Type == config.BackendPG:
		return stateLoc{pg: &state.PG{ConnStr: be.ConnStr, Schema: be.SchemaName}}, nil
	case f.path != "":
		return stateLoc{path: c.path(f.path)}, nil
	case be.Path != "":
		return stateLoc{path: c.path(be.Path)}, nil
	}
	return stateLoc{path: filepath.Join(c.dir, defaultStateName)}, nil
}

// backend names l for saved plans: "local file " and its absolute path,
// or the database's host and name and the schema (PG.String), never a
// connection string, which may carry a password. A plan made from an empty
// state has no lineage to tell that state from another empty one: only
// where it is can.
func (l stateLoc) backend() string {
	if l.pg != nil {
		return l.pg.String()
	}
	path, err := filepath.Abs(l.path)
	if err != nil {
		path = l.path
	}
	return "local file " + path
}

// stateName names the state for reports: its path or its database.
func (c *cli) stateName(f stateFlags) string {
	loc, err := c.stateLocation(f)
	if err != nil {
		return ""
	}
	return loc.String()
}

// readState loads the state without locking it, for commands that only look.
func (c *cli) readState(f stateFlags) (*state.State, []state.Warning, error) {
	loc, err := c.stateLocation(f)
	if err != nil {
		return nil, nil, err
	}
	if loc.pg == nil {
		if f.inspect && f.path != "" {
			if err := stateExists(loc.path); err != nil {
				return nil, nil, err
			}
		}
		// Looked for before and after the read: a run that holds the
		// lock for any part of it may be changing what is read.
		h, held := state.Holder(loc.path)
		st, warnings, err := state.Read(loc.path)
		if err != nil {
			return nil, nil, c.recoverAdvice(f, err)
		}
		if err := checkNotPushed(st, loc.path); err != nil && !f.inspect {
			return nil, nil, err
		} else if err != nil {
			// Looking at the copy as pushed is harmless.
			warnings = append(warnings, state.Warning{Summary: "A copy of a pushed state", Detail: err.Error()})
		}
		if h2, held2 := state.Holder(loc.path); held2 {
			h, held = h2, true
		}
		if held {
			warnings = append(warnings, heldWarning(h))
		}
		return st, warnings, nil
	}
	st, err := state.ReadPG(c.ctx, *loc.pg)
	if err == nil {
		err = c.checkNotMigrated(st, *loc.pg)
	}
	if err != nil {
		return nil, nil, c.recoverAdvice(f, err)
	}
	var warnings []state.Warning
	if h, held, err := state.PGHolder(c.ctx, *loc.pg); err == nil && held {
		warnings = append(warnings, heldWarning(h))
	}
	return st, warnings, nil
}

// heldWarning says that the run h (nil: one that has not described
// itself yet) holds the lock of the state just read without it.
func heldWarning(h *state.LockInfo) state.Warning {
	who := "Another run"
	if h != nil {
		who = "The run with " + h.String()
	}
	return state.Warning{Summary: "Another run holds the state's lock",
		Detail: who + " holds the lock and may be changing the state as this reads it: the sends it has in flight show as unknown (?) until it records them, and what it records after the read is not shown. Nothing is lost; look again when it ends."}
}

// stateExists reports an error unless some file of the state at path
// exists: the snapshot, its journal or its backup (whose absence state.Read
// explains).
func stateExists(path string) error {
	for _, name := range []string{path, path + ".wal", path + ".backup"} {
		if _, err := os.Lstat(name); !errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	return fmt.Errorf("there is no state at %s (-state): the file does not exist. Check the path; without -state, the configuration's own state is read", path)
}

// openState locks and loads the state for operation op. A rehearsal's
// directory is created on first use.
func (c *cli) openState(f stateFlags, op string) (*state.Store, []state.Warning, error) {
	loc, err := c.stateLocation(f)
	if err != nil {
		return nil, nil, err
	}
	opts := state.Options{LockTimeout: f.lockTimeout, Operation: op, Restored: f.restored}
	if loc.pg != nil {
		store, warnings, err := state.OpenPG(c.ctx, *loc.pg, opts)
		if err == nil {
			if err = c.checkNotMigrated(store.State(), *loc.pg); err != nil {
				store.Close()
				return nil, nil, err
			}
		}
		return store, warnings, c.recoverAdvice(f, err)
	}
	if f.sandbox {
		if err := os.MkdirAll(filepath.Dir(loc.path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("create rehearsal directory: %w", err)
		}
	}
	store, warnings, err := state.Open(c.ctx, loc.path, opts)
	if err != nil {
		return nil, nil, c.recoverAdvice(f, err)
	}
	if err := checkNotPushed(store.State(), loc.path); err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, warnings, nil
}

// recoverAdvice makes the refresh -recover that a damaged or missing
// state's error advises the command line of this state (-chdir, -sandbox,
// -state), and returns err.
func (c *cli) recoverAdvice(f stateFlags, err error) error {
	line := c.commandLine("refresh", f, configFlags{}, "-recover")
	var ce *state.CorruptError
	if errors.As(err, &ce) {
		ce.Recover = line
	}
	var me *state.MissingError
	if errors.As(err, &me) {
		me.Recover = line
	}
	var re *state.RolledBackError
	if errors.As(err, &re) {
		re.Recover = line
	}
	return err
}

// checkNotMigrated refuses to start from an empty pg state when a local
// state with sends sits beside the configuration: that is a state nobody
// pushed yet, and starting empty would message its recipients again. The
// backend block that named the file (backend "local" { path = ... }) is
// gone once it names the database, so every state file in the
// configuration's directory, or one directory down, is looked at.
func (c *cli) checkNotMigrated(st *state.State, pg state.PG) error {
	if st.Lineage() != "" || st.Serial() > 0 {
		return nil
	}
	for _, path := range localStates(c.dir) {
		local, _, err := state.Read(path)
		if err != nil {
			return fmt.Errorf("%s is empty, and the local state %s beside the configuration cannot be read to tell whether it holds sends: %w", pg, path, err)
		}
		if local.Len() > 0 {
			rel, _ := filepath.Rel(c.dir, path)
			return fmt.Errorf("%s is empty, but the local state %s holds %d sends: run \"ujumbe state push %s\" first, or those recipients would be messaged again",
				pg, path, local.Len(), rel)
		}
	}
	return nil
}

// localStates returns the local state files in dir and its subdirectories
// but the rehearsal's: ujumbe.state, and every *.state (or a journal,
// *.state.wal, left without its snapshot).
func localStates(dir string) []string {
	var out []string
	for _, pattern := range []string{"*.state", "*.state.wal", "*/*.state", "*/*.state.wal"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			path := strings.TrimSuffix(m, ".wal")
			if rel, _ := filepath.Rel(dir, path); strings.HasPrefix(rel, rehearsalDir+string(filepath.Separator)) || slices.Contains(out, path) {
				continue
			}
			out = append(out, path)
		}
	}
	return out
}

// addrFlags are the repeatable address flags -target, -exclude and -replace.
type addrFlags struct {
	targets, excludes, replace multiFlag
}

func (f *addrFlags) add(fs *flag.FlagSet) {
	fs.Var(&f.targets, "target", "")
	fs.Var(&f.excludes, "exclude", "")
	fs.Var(&f.replace, "replace", "")
}

// parsePatterns parses the addresses given to one flag, or with flagName ""
// as arguments.
func parsePatterns(flagName string, values []string) ([]addrs.Pattern, hcl.Diagnostics) {
	var out []addrs.Pattern
	var diags hcl.Diagnostics
	summary := "Invalid address"
	if flagName != "" {
		summary = "Invalid -" + flagName + " address"
	}
	for _, v := range values {
		p, err := addrs.ParsePattern(v)
		if err != nil {
			detail := capitalize(err.Error()) + "."
			if !strings.Contains(detail, "campaign.NAME") {
				detail += " Addresses look like campaign.NAME, campaign.NAME.message.NAME or campaign.NAME.message.NAME[\"KEY\"]."
			}
			if q := requoteKey(v); q != "" {
				arg := "'" + q + "'"
				if flagName == "target" || flagName == "exclude" || flagName == "replace" {
					arg = "-" + flagName + "=" + arg
				}
				detail = fmt.Sprintf("The key in %s has no quotes: the shell removed them. Write the key in double quotes and the whole address in single quotes, so that the shell keeps them: %s.", v, arg)
			}
			diags = append(diags, sourceless(hcl.DiagError, summary, detail))
			continue
		}
		out = append(out, p)
	}
	return out, diags
}

// requoteKey returns addr with its key quoted, when addr is an address whose
// key lost its quotes to the shell — campaign.x.message.y[C-1] for
// campaign.x.message.y["C-1"] — and "" otherwise.
func requoteKey(addr string) string {
	i := strings.IndexByte(addr, '[')
	if i < 0 || !strings.HasSuffix(addr, "]") {
		return ""
	}
	key := addr[i+1 : len(addr)-1]
	if key == "" || strings.ContainsAny(key, `"[]`) {
		return ""
	}
	p, err := addrs.ParsePattern(addr[:i])
	if err != nil || p.Message == "" {
		return ""
	}
	p.Key = key
	return p.String()
}

// inputDigests returns a digest of each input file the configuration read
// (HCL, variable and CSV files), keyed by path, for saved plans.
func inputDigests(cfg *config.Config) map[string]string {
	out := make(map[string]string, len(cfg.Files))
	for name := range cfg.Files {
		sum := cfg.FileSum(name)
		out[name] = hex.EncodeToString(sum[:])
	}
	return out
}

// variablesDigest digests the variable values given on the command line and
// in the environment, which a saved plan must be applied with.
func (c *cli) variablesDigest(f configFlags) string {
	var parts []string
	for _, v := range f.vars {
		parts = append(parts, "var:"+v)
	}
	for _, v := range f.varFiles {
		parts = append(parts, "var-file:"+v)
	}
	var env []string
	for _, kv := range c.env {
		if strings.HasPrefix(kv, "UJUMBE_VAR_") {
			env = append(env, "env:"+kv)
		}
	}
	sort.Strings(env)
	sum := sha256.Sum256([]byte(strings.Join(append(parts, env...), "\x00")))
	return hex.EncodeToString(sum[:])
}

// applyCommandLine is the command that applies the plan saved at file with
// the flags that decide what it applies to (commandLine). -var values may be
// secrets and are not repeated; a note asks for them instead.
func (c *cli) applyCommandLine(file string, sf stateFlags, cf configFlags) string {
	line := c.commandLine("apply", sf, cf, shellQuote(file))
	if len(cf.vars) > 0 {
		line += "\n  (with the same -var values as this plan)"
	}
	return line
}

// commandLine is ujumbe command with the flags that decide which
// configuration and state it works on, -chdir, -sandbox or -state, and
// -var-file, then args.
func (c *cli) commandLine(command string, sf stateFlags, cf configFlags, args ...string) string {
	line := []string{"ujumbe"}
	if c.dir != "." {
		line = append(line, "-chdir="+shellQuote(c.dir))
	}
	line = append(line, command)
	switch {
	case sf.sandbox:
		line = append(line, "-sandbox")
	case sf.path != "":
		line = append(line, "-state="+shellQuote(sf.path))
	}
	for _, v := range cf.varFiles {
		line = append(line, "-var-file="+shellQuote(v))
	}
	return strings.Join(append(line, args...), " ")
}

// shellQuote quotes s for a POSIX shell unless it needs no quotes.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
