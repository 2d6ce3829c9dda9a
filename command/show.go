package command

var showCommand = &subcommand{
	name:     "show",
	synopsis: "Show per campaign and message what was sent and how it went",
	help: `Usage: ujumbe [global options] show [options]

  Prints, per campaign and message, how many sends were accepted, delivered,
  read, replied to, failed, expired or are still pending.

Options:
  -state=PATH           State file (default ujumbe.state in the config dir).
  -sandbox              Show the rehearsal state.
  -json                 Print as JSON.
  -no-color             Do not colour the output.
`,
	run: runShow,
}

func runShow(c *cli, args []string) int {
	return notBuilt(c, "show")
}
