// Command mkfixture writes a benchmark configuration directory for
// bench/run: main.hcl and customers.csv with n recipients and, with -full, a
// state in which every send was accepted (see package bench/fixture).
//
//	go run ./bench/mkfixture -n 1000000 -full DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ujumbe/ujumbe/bench/fixture"
)

func main() {
	n := flag.Int("n", 100000, "number of recipients")
	full := flag.Bool("full", false, "also record every send as accepted in DIR/"+fixture.StateName)
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "Usage: mkfixture [-n N] [-full] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *full); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}

func run(dir string, n int, full bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := fixture.WriteConfig(dir, n); err != nil {
		return err
	}
	if !full {
		return nil
	}
	return fixture.FillState(dir)
}
