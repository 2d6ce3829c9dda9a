package command

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// globalFlags are the options of ujumbe itself, before the command.
var globalFlags = []string{"chdir", "help", "h", "version"}

// flagMention finds an option named in text: a hyphen after a space, a
// quote or a bracket, then a lower-case name; and the word before, which
// may name the command the option belongs to ("plan -out").
var flagMention = regexp.MustCompile(`(?:^|([a-z]+ )|[\s("'\x60\[])-([a-z][a-z0-9]*(?:-[a-z0-9]+)*)`)

// A mention is an option named in a text, with the command it is named
// for when a command name comes right before it ("plan -out").
type mention struct{ command, flag string }

// mentions returns the options text names.
func mentions(text string) []mention {
	var out []mention
	for _, m := range flagMention.FindAllStringSubmatch(text, -1) {
		mn := mention{flag: m[2]}
		if word := strings.TrimSpace(m[1]); lookup(word) != nil {
			mn.command = word
		}
		out = append(out, mn)
	}
	return out
}

// commandFlags returns the flags each command (and state subcommand)
// defines, by running it with an undefined flag and looking at the flag
// set it built.
func commandFlags(t *testing.T) map[string][]string {
	t.Helper()
	var sets []*flag.FlagSet
	flagSetCreated = func(fs *flag.FlagSet) { sets = append(sets, fs) }
	t.Cleanup(func() { flagSetCreated = nil })
	out := map[string][]string{}
	run := func(name string, args ...string) {
		sets = nil
		c := &cli{ctx: t.Context(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, dir: t.TempDir()}
		c.main(append(args, "-no-such-flag-zz"))
		if len(sets) != 1 {
			t.Fatalf("%s built %d flag sets", name, len(sets))
		}
		sets[0].VisitAll(func(f *flag.Flag) { out[name] = append(out[name], f.Name) })
	}
	for _, sc := range commands {
		switch sc.name {
		case "state":
			for _, sub := range []string{"list", "show", "rm", "mv"} {
				run("state", "state", sub)
			}
		default:
			run(sc.name, sc.name)
		}
	}
	return out
}

// TestHelpNamesRealFlags: every option a command's help names is one the
// command accepts (or a global one), and every option it accepts is in its
// help.
func TestHelpNamesRealFlags(t *testing.T) {
	defined := commandFlags(t)
	accepts := func(command, flag string) bool {
		return slices.Contains(defined[command], flag) || slices.Contains(globalFlags, flag)
	}
	for _, sc := range commands {
		var named []string
		for _, m := range mentions(sc.help) {
			switch {
			case m.command != "" && m.command != sc.name:
				if !accepts(m.command, m.flag) {
					t.Errorf("ujumbe %s -help names %s -%s, which %s does not accept", sc.name, m.command, m.flag, m.command)
				}
			case !accepts(sc.name, m.flag):
				t.Errorf("ujumbe %s -help names -%s, which %s does not accept", sc.name, m.flag, sc.name)
			default:
				named = append(named, m.flag)
			}
		}
		for _, f := range defined[sc.name] {
			if !slices.Contains(named, f) {
				t.Errorf("ujumbe %s accepts -%s, which its help does not name", sc.name, f)
			}
		}
	}
	// The main help may name the commands' options too.
	known := slices.Clone(globalFlags)
	for _, fs := range defined {
		known = append(known, fs...)
	}
	for _, m := range mentions(mainHelp()) {
		if !slices.Contains(known, m.flag) {
			t.Errorf("ujumbe -help names -%s, which no command accepts", m.flag)
		}
	}
}

// TestMessagesNameRealFlags: every option named in a string of the
// program's source — errors, hints, warnings — is one that a command
// accepts: the command named before it, or any when none is.
func TestMessagesNameRealFlags(t *testing.T) {
	defined := commandFlags(t)
	known := slices.Clone(globalFlags)
	for _, fs := range defined {
		known = append(known, fs...)
	}
	files, err := filepath.Glob("../*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	str := regexp.MustCompile("\"(?:[^\"\\\\\\n]|\\\\.)*\"|`[^`]*`")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || strings.Contains(name, "/bench/") || strings.Contains(name, "/sandbox/") {
			continue // the sandbox's options are its own (Options, not flags)
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, lit := range str.FindAllString(string(src), -1) {
			for _, m := range mentions(lit) {
				switch {
				case m.command != "" && !slices.Contains(defined[m.command], m.flag) && !slices.Contains(globalFlags, m.flag):
					t.Errorf("%s: %s names %s -%s, which %s does not accept", name, lit, m.command, m.flag, m.command)
				case !slices.Contains(known, m.flag):
					t.Errorf("%s: %s names -%s, which no command accepts", name, lit, m.flag)
				}
			}
		}
	}
}
