package command

var stateCommand = &subcommand{
	name:     "state",
	synopsis: "Inspect and edit the state: list, show, rm, mv",
	help: `Usage: ujumbe [global options] state <subcommand> [options] [args]

Subcommands:
  list [ADDR]     List the sends in the state, or those under ADDR.
  show ADDR       Show one send in full.
  rm ADDR         Forget the sends under ADDR (they become sendable again).
  mv FROM TO      Re-address sends, as a moved block does.

Addresses: campaign.NAME, campaign.NAME.message.NAME,
campaign.NAME.message.NAME["KEY"].

Options:
  -state=PATH       State file (default ujumbe.state in the config dir).
  -lock-timeout=D   How long to wait for the state lock (default 0s).
`,
	run: runState,
}

func runState(c *cli, args []string) int {
	return notBuilt(c, "state")
}
