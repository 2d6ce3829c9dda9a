package command

var sandboxCommand = &subcommand{
	name:     "sandbox",
	synopsis: "Run a Briq-compatible API on loopback",
	help: `Usage: ujumbe [global options] sandbox [options]

  Runs a Briq-compatible WhatsApp API on loopback for trying ujumbe without
  an account. Prints its URL and API key; Ctrl-C stops it.

Options:
  -listen=ADDR   Address to listen on (default 127.0.0.1:8089).
`,
	run: runSandbox,
}

func runSandbox(c *cli, args []string) int {
	return notBuilt(c, "sandbox")
}
