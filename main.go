// Command ujumbe is a declarative WhatsApp campaign runner: plan what a
// directory of HCL files wants, apply it through the Briq API, never send twice.
package main

import (
	"os"

	"github.com/ujumbe/ujumbe/command"
)

func main() {
	os.Exit(command.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
