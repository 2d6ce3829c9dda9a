// Command mkfixture writes a benchmark configuration directory for
// bench/run: main.hcl and customers.csv with n recipients and, with -full, a
// state in which every send was accepted (see package bench/fixture).
// -messages 3 adds the follow-ups ask (a question) and code (a text to
// those who answered "yes"); with -full the state then also holds the
// questions, accepted, and the answers of a share -replied of the
// recipients.
//
//	go run ./bench/mkfixture -n 1000000 -full DIR
//	go run ./bench/mkfixture -n 1000000 -messages 3 -replied 0.3 -full DIR
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
	messages := flag.Int("messages", 1, fmt.Sprintf("number of messages, 1 to %d: hello, ask, code", fixture.MaxMessages))
	replied := flag.Float64("replied", 0, "with -full and -messages 2 or more, the share (0 to 1) of recipients who answered ask")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "Usage: mkfixture [-n N] [-messages M] [-replied SHARE] [-full] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 || *messages < 1 || *messages > fixture.MaxMessages || *replied < 0 || *replied > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *messages, *replied, *full); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}

func run(dir string, n, messages int, replied float64, full bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := fixture.WriteCampaign(dir, n, messages); err != nil {
		return err
	}
	if !full {
		return nil
	}
	return fixture.FillReplies(dir, replied)
}
