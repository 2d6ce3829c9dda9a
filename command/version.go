package command

import (
	"fmt"
	"runtime"
)

var versionCommand = &subcommand{
	name:     "version",
	synopsis: "Show the version",
	help: `Usage: ujumbe [global options] version [options]

  Prints ujumbe's version and the Go version it was built with.

Options:
  -json   Print them as one JSON document.
`,
	run: func(c *cli, args []string) int {
		var v view
		fs := c.newFlagSet("version")
		fs.BoolVar(&v.json, "json", false, "")
		if !c.parseFlags(fs, args) {
			return exitError
		}
		if v.json {
			return c.writeJSON(struct {
				Version  string `json:"ujumbe_version"`
				Go       string `json:"go_version"`
				Platform string `json:"platform"`
			}{Version, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH})
		}
		fmt.Fprintf(c.stdout, "ujumbe v%s (%s %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	},
}
