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
	variants := flag.Bool("variants", false, "hello as two variants of equal weight, with a 5% holdout")
	replied := flag.Float64("replied", 0, "with -full and -messages 2 or more, the share (0 to 1) of recipients who answered ask")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "Usage: mkfixture [-n N] [-messages M] [-variants] [-replied SHARE] [-full] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 || *messages < 1 || *messages > fixture.MaxMessages || *replied < 0 || *replied > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *messages, *variants, *replied, *full); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}

func run(dir string, n, messages int, variants bool, replied float64, full bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := fixture.WriteCampaign(dir, n, messages); err != nil {
		return err
	}
	if variants {
		if err := fixture.SplitHello(dir); err != nil {
			return err
		}
	}
	if !full {
		return nil
	}
	return fixture.FillReplies(dir, replied)
}
