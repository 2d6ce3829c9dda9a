package command

var planCommand = &subcommand{
	name:     "plan",
	synopsis: "Show which messages apply would send",
	help: `Usage: ujumbe [global options] plan [options]

  Compares the sends the configuration wants (campaign x message x
  recipient) with the state file and prints what apply would do, grouped by
  message, with a few rendered samples and a summary line.

  Marks: + send now, > scheduled, = done, ~ drift (content changed after
  sending), ! retry, ? unknown outcome (run refresh), x expired, - orphan.

Options:
  -out=FILE             Save the plan to FILE for "ujumbe apply FILE".
  -detailed-exitcode    Exit 0 when nothing is to be sent, 2 when sends are
                        pending, 1 on error.
  -target=ADDR          Plan only sends under ADDR (repeatable).
  -exclude=ADDR         Leave out sends under ADDR (repeatable).
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -sandbox              Rehearse against an embedded sandbox and a separate
                        rehearsal state.
  -json                 Print the plan as one JSON document.
  -no-color             Do not colour the output.
`,
	run: runPlan,
}

func runPlan(c *cli, args []string) int {
	return notBuilt(c, "plan")
}
