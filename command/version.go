package command

import (
	"fmt"
	"runtime"
)

var versionCommand = &subcommand{
	name:     "version",
	synopsis: "Show the version",
	help: `Usage: ujumbe [global options] version

  Prints ujumbe's version and the Go version it was built with.
`,
	run: func(c *cli, args []string) int {
		fmt.Fprintf(c.stdout, "ujumbe v%s (%s %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	},
}
