package command

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hexops/gotextdiff"
	"github.com/hexops/gotextdiff/myers"
	"github.com/hexops/gotextdiff/span"

	"github.com/ujumbe/ujumbe/inputfile"
)

var fmtCommand = &subcommand{
	name:     "fmt",
	synopsis: "Rewrite the *.hcl files in the canonical format",
	help: `Usage: ujumbe [global options] fmt [options] [TARGET...]

  Rewrites the *.hcl files of the configuration directory (or of each TARGET
  directory or file) in the canonical format and lists the files it changed.
  TARGET "-" reads from standard input and writes to standard output.

Options:
  -list=false    Do not list the files whose formatting differs.
  -write=false   Do not rewrite files (implied by -check and by "-").
  -diff          Show the changes as a unified diff.
  -check         Change nothing; exit 1 when any file is not formatted.
  -recursive     Also process subdirectories.
  -no-color      Accepted for symmetry; fmt prints no colour.

Exit status: 0 when every file was formatted (or was rewritten), 1 when
-check found unformatted files or a file has syntax errors.
`,
	run: runFmt,
}

type fmtOptions struct {
	list, write, diff, check, recursive bool
}

func runFmt(c *cli, args []string) int {
	var o fmtOptions
	var v view
	fs := c.newFlagSet("fmt")
	fs.BoolVar(&o.list, "list", true, "")
	fs.BoolVar(&o.write, "write", true, "")
	fs.BoolVar(&o.diff, "diff", false, "")
	fs.BoolVar(&o.check, "check", false, "")
	fs.BoolVar(&o.recursive, "recursive", false, "")
	fs.BoolVar(&v.noColor, "no-color", false, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if o.check {
		o.write = false
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{"."} // the configuration directory, as c.path resolves it
	}

	files := map[string]*hcl.File{}
	var diags hcl.Diagnostics
	unformatted := 0
	for _, target := range targets {
		if target == "-" {
			src, err := io.ReadAll(c.stdin)
			if err != nil {
				diags = append(diags, errorDiag("Cannot read standard input", err))
				continue
			}
			out, d := formatSource("<stdin>", src, files)
			diags = append(diags, d...)
			if !d.HasErrors() {
				if o.check && !bytes.Equal(src, out) {
					unformatted++
				}
				if o.diff {
					fmt.Fprint(c.stdout, unifiedDiff("<stdin>", src, out))
				} else if !o.check {
					c.stdout.Write(out)
				}
			}
			continue
		}
		names, err := fmtTargets(c.path(target), o.recursive)
		if err != nil {
			diags = append(diags, errorDiag("Cannot read "+target, err))
			continue
		}
		for _, name := range names {
			changed, d := fmtFile(c, name, o, files)
			diags = append(diags, d...)
			if changed {
				unformatted++
			}
		}
	}
	c.printDiags(v, diags, files)
	if diags.HasErrors() || (o.check && unformatted > 0) {
		return exitError
	}
	return exitOK
}

// fmtFile formats one file and reports whether its formatting differed.
func fmtFile(c *cli, name string, o fmtOptions, files map[string]*hcl.File) (bool, hcl.Diagnostics) {
	src, err := inputfile.ReadFile(name)
	if err != nil {
		return false, hcl.Diagnostics{errorDiag("Cannot read "+name, err)}
	}
	out, diags := formatSource(name, src, files)
	if diags.HasErrors() || bytes.Equal(src, out) {
		return false, diags
	}
	if o.list {
		fmt.Fprintln(c.stdout, name)
	}
	if o.diff {
		fmt.Fprint(c.stdout, unifiedDiff(name, src, out))
	}
	if o.write {
		st, err := os.Stat(name)
		if err == nil {
			err = os.WriteFile(name, out, st.Mode().Perm())
		}
		if err != nil {
			diags = append(diags, errorDiag("Cannot write "+name, err))
		}
	}
	return true, diags
}

// formatSource checks src for syntax errors, which fmt must not paper over,
// and returns its canonical form.
func formatSource(name string, src []byte, files map[string]*hcl.File) ([]byte, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	files[name] = f
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), diags
}

// fmtTargets lists the *.hcl files named by target: the file itself, or the
// files of the directory (and its subdirectories with recursive), sorted.
func fmtTargets(target string, recursive bool) ([]string, error) {
	st, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{target}, nil
	}
	var names []string
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			hidden := p != target && strings.HasPrefix(d.Name(), ".")
			if p != target && (!recursive || hidden) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".hcl") {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

func unifiedDiff(name string, old, new []byte) string {
	edits := myers.ComputeEdits(span.URIFromPath(name), string(old), string(new))
	return fmt.Sprint(gotextdiff.ToUnified("old/"+name, "new/"+name, string(old), edits))
}
