package command

var validateCommand = &subcommand{
	name:     "validate",
	synopsis: "Check the configuration and the CSV files",
	help: `Usage: ujumbe [global options] validate [options]

  Checks the *.hcl files of the configuration directory and the CSV files
  they load: syntax, references, types, phone numbers, duplicate keys and
  WhatsApp's limits. Sends nothing and needs no API key.

  Exits 0 and prints one line of counts when the configuration is valid,
  prints every problem found and exits 1 otherwise.

Options:
  -var 'name=value'   Set a variable (repeatable).
  -var-file=FILE      Set variables from an HCL file (repeatable).
  -json               Print the result as JSON.
  -no-color           Do not colour the output.
`,
	run: runValidate,
}

func runValidate(c *cli, args []string) int {
	return notBuilt(c, "validate")
}
