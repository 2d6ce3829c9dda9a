package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	sends, messages, err := check(bufio.NewReaderSize(os.Stdin, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsoncheck:", err)
		os.Exit(1)
	}
	fmt.Printf("valid JSON: %d sends, %d messages\n", sends, messages)
}

// check reads one JSON object from r, one member and one array element at
// a time, and counts the elements of its "sends" and "messages" arrays.
func check(r io.Reader) (sends, messages int, err error) {
	dec := json.NewDecoder(r)
	fail := func(err error) (int, int, error) {
		return 0, 0, fmt.Errorf("at byte %d: %w", dec.InputOffset(), err)
	}
	if err := delim(dec, '{'); err != nil {
		return fail(err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		var n *int
		switch key {
		case "sends":
			n = &sends
		case "messages":
			n = &messages
		}
		if n == nil {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return fail(err)
			}
			continue
		}
		if err := delim(dec, '['); err != nil {
			return fail(fmt.Errorf("%s: %w", key, err))
		}
		for ; dec.More(); *n++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return fail(err)
			}
		}
		if err := delim(dec, ']'); err != nil {
			return fail(err)
		}
	}
	if err := delim(dec, '}'); err != nil {
		return fail(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(errors.New("more after the plan's object"))
	}
	return sends, messages, nil
}

// delim reads the next token and reports whether it is d.
func delim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("found %v where %v was expected", tok, d)
	}
	return nil
}
