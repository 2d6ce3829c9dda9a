package command

var applyCommand = &subcommand{
	name:     "apply",
	synopsis: "Send what the plan says, recording every message_id",
	help: `Usage: ujumbe [global options] apply [options] [PLANFILE]

  Plans (or loads PLANFILE saved by "plan -out"), asks for confirmation, then
  sends under the configured rate limit. Every send is recorded in the state
  before the request leaves and its message_id as soon as it is accepted, so
  apply can be interrupted and run again without messaging anyone twice.

Options:
  -auto-approve         Do not ask for confirmation (required when stdin is
                        not a terminal).
  -parallelism=N        Concurrent requests (default 16).
  -refresh=false        Do not refresh statuses and replies first.
  -replace=ADDR         Send again to ADDR even though it was sent
                        (repeatable).
  -target=ADDR          Apply only sends under ADDR (repeatable).
  -exclude=ADDR         Leave out sends under ADDR (repeatable).
  -var 'name=value'     Set a variable (repeatable).
  -var-file=FILE        Set variables from an HCL file (repeatable).
  -state=PATH           State file (default ujumbe.state in the config dir).
  -lock-timeout=D       How long to wait for the state lock (default 0s).
  -sandbox              Rehearse against an embedded sandbox.
  -wait                 Keep going until nothing is scheduled.
  -wait-timeout=D       Give up waiting after D.
  -json                 Machine-readable output.
  -no-color             Do not colour the output.

Exit status: 0 success or nothing to do, 1 error (also when the apply
stopped partway), 3 the state is locked by another run.
`,
	run: runApply,
}

func runApply(c *cli, args []string) int {
	return notBuilt(c, "apply")
}
