package state

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// A state file is a sequence of lines "CRC SP PAYLOAD LF". PAYLOAD is JSON
// without newlines; CRC is eight lowercase hex digits of a CRC-32C chained
// over the payloads so far (the header's CRC starts from 0, each later line
// continues from the CRC stored on the line before). The chain makes a
// deleted, duplicated or reordered line as detectable as a changed one,
// while a damaged line does not hide the lines after it: each is checked
// against the stored CRC of its predecessor.

const crcLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFramed appends r as a framed line chained to prev and returns the
// line's CRC.
func appendFramed(dst []byte, prev uint32, r *record) ([]byte, uint32) {
	return frame(dst, prev, func(b []byte) []byte { return appendRecord(b, r) })
}

// frame appends the line whose payload payload appends, chained to prev.
func frame(dst []byte, prev uint32, payload func([]byte) []byte) ([]byte, uint32) {
	at := len(dst)
	dst = append(dst, "00000000 "...)
	dst = payload(dst)
	sum := crc32.Update(prev, castagnoli, dst[at+crcLen+1:])
	hex.Encode(dst[at:at+crcLen], []byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	return append(dst, '\n'), sum
}

// unframe checks one line (without its LF) against the previous line's CRC
// and returns its payload and CRC.
func unframe(line []byte, prev uint32) ([]byte, uint32, error) {
	stored, err := lineCRC(line)
	if err != nil {
		return nil, 0, err
	}
	payload := line[crcLen+1:]
	if crc32.Update(prev, castagnoli, payload) != stored {
		return nil, 0, errors.New("checksum mismatch")
	}
	return payload, stored, nil
}

// lineCRC returns the CRC stored on a framed line (without its LF),
// unchecked.
func lineCRC(line []byte) (uint32, error) {
	if len(line) < crcLen+2 || line[crcLen] != ' ' {
		return 0, errors.New("not a checksummed line")
	}
	var stored uint32
	for _, c := range line[:crcLen] {
		// Lowercase only, so that every changed byte is noticed.
		switch {
		case '0' <= c && c <= '9':
			stored = stored<<4 | uint32(c-'0')
		case 'a' <= c && c <= 'f':
			stored = stored<<4 | uint32(c-'a'+10)
		default:
			return 0, errors.New("not a checksummed line")
		}
	}
	return stored, nil
}

// header is the first line of a snapshot or journal.
type header struct {
	Format  string `json:"ujumbe"` // "state" or "journal"
	Version int    `json:"version"`
	Lineage string `json:"lineage"`
	// Serial is the snapshot's serial, or for a journal the serial of the
	// snapshot it continues: its first record has Serial+1.
	Serial uint64 `json:"serial"`
	// Snapshot only: how many send lines each message has, in the order
	// they follow, and how many opt-out lines come after them.
	Messages []messageCount `json:"messages,omitempty"`
	OptOuts  int            `json:"opt_outs,omitempty"`
	// Inbound is State.InboundRead in Unix milliseconds (format version
	// 8); 0 for never.
	Inbound int64 `json:"inbound,omitempty"`
}

type messageCount struct {
	Campaign string `json:"campaign"`
	Message  string `json:"message"`
	Sends    int    `json:"sends"`
}

const (
	formatState   = "state"
	formatJournal = "journal"
)

func appendHeader(dst []byte, h header) ([]byte, uint32) {
	return frame(dst, 0, func(b []byte) []byte {
		js, err := json.Marshal(h)
		if err != nil {
			panic(err) // a struct of strings and numbers always encodes
		}
		return append(b, js...)
	})
}

func parseHeader(payload []byte, format string) (header, error) {
	var h header
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, fmt.Errorf("bad header: %v", err)
	}
	switch {
	case h.Format != format:
		return h, fmt.Errorf("not a ujumbe %s file (header says %q)", format, h.Format)
	case h.Version > Version:
		return h, fmt.Errorf("written by a newer ujumbe (format version %d; this one reads up to %d)", h.Version, Version)
	case h.Version < 1:
		return h, fmt.Errorf("bad format version %d", h.Version)
	}
	return h, nil
}

// lineReader reads lines of any length and counts bytes.
type lineReader struct {
	r    *bufio.Reader
	off  int64 // offset of the next line
	long []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its LF and whether it had one; a line
// without LF is the end of the data. It returns io.EOF when no data is left.
// The line is valid until the next call.
func (lr *lineReader) next() (line []byte, complete bool, err error) {
	line, err = lr.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.r.ReadSlice('\n')
			lr.long = append(lr.long, line...)
		}
		line = lr.long
	}
	lr.off += int64(len(line))
	switch {
	case err == nil:
		return line[:len(line)-1], true, nil
	case errors.Is(err, io.EOF) && len(line) > 0:
		return line, false, nil
	}
	return nil, false, err
}

// atEOF reports whether no data follows.
func (lr *lineReader) atEOF() bool {
	_, err := lr.r.Peek(1)
	return err != nil
}

// Test hooks: the file operations whose failure or interruption the tests
// inject. Production code never changes them.
var (
	syncData = fdatasync
	linkFile = os.Link
	// crashPoint is called after each step of replacing a file; a non-nil
	// error stops there as if the process had died.
	crashPoint = func(step string) error { return nil }
)

// writeNew writes a new file at name (mode 0600) with what fill writes, syncs
// and closes it. The caller renames it into place.
func writeNew(name string, fill func(w *bufio.Writer) error) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	// Close before rename: some filesystems want it, and a close error can
	// report a failed write.
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// syncDir makes renames and creations in the directory of name durable.
func syncDir(name string) error {
	dir := filepath.Dir(name)
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// copyFile copies src to the new file dst through writeNew.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeNew(dst, func(w *bufio.Writer) error {
		_, err := w.ReadFrom(in)
		return err
	})
}
