package command

var refreshCommand = &subcommand{
	name:     "refresh",
	synopsis: "Pull delivery statuses and replies into the state",
	help: `Usage: ujumbe [global options] refresh [options]

  Asks the provider for the delivery status and replies of the sends that
  still need them, and resolves sends whose outcome is unknown.

Options:
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -sandbox              Refresh the rehearsal state from the embedded sandbox.
  -no-color             Do not colour the output.
`,
	run: runRefresh,
}

func runRefresh(c *cli, args []string) int {
	return notBuilt(c, "refresh")
}
