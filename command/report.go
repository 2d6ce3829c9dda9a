package command

var reportCommand = &subcommand{
	name:     "report",
	synopsis: "Write one CSV row per recipient and message",
	help: `Usage: ujumbe [global options] report -csv=FILE [options]

  Writes one row per recipient and message with its outcome: key, phone,
  campaign, message, status, message_id, sent/delivered/read times and the
  reply.

Options:
  -csv=FILE     Where to write the report ("-" for stdout).
  -state=PATH   State file (default ujumbe.state in the config dir).
`,
	run: runReport,
}

func runReport(c *cli, args []string) int {
	return notBuilt(c, "report")
}
