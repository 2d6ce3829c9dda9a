package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The data file is JSON lines: a header, then one entry per change, each
// written with a single write before the request that made it is answered,
// so a killed process loses nothing it acknowledged (the page cache outlives
// the process; the sandbox does not fsync, as it guards no customer data).
// A write torn by a crash can only be a final line without its newline;
// opening the file drops it. Any other damage is an error naming the line.

const journalFormat = "ujumbe-sandbox-data"

type journalHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// An entry is one change: a recorded message, a clock advance, or the
// clock's offset from the base clock when the file (re)starts ("start",
// the first entry when present).
type entry struct {
	Op      string        `json:"op"` // "message", "advance" or "start"
	Message *message      `json:"message,omitempty"`
	By      time.Duration `json:"by,omitempty"`
}

type journal struct {
	f      *os.File
	path   string
	header int64 // length of the header line
	size   int64 // length of the file's intact content
}

// ErrBusy marks a sandbox whose data file another process holds: another
// sandbox, or another rehearsal's embedded one.
var ErrBusy = errors.New("in use by another process")

// openJournal opens or creates the data file at path, locks it and returns
// its entries.
func openJournal(path string) (*journal, []entry, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open sandbox data: %w", err)
	}
	j := &journal{f: f, path: path}
	entries, err := j.load()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return j, entries, nil
}

func (j *journal) load() ([]entry, error) {
	if err := lockFile(j.f); err != nil {
		return nil, fmt.Errorf("sandbox data %s is %w (%w)", j.path, ErrBusy, err)
	}
	b, err := io.ReadAll(j.f)
	if err != nil {
		return nil, fmt.Errorf("read sandbox data %s: %w", j.path, err)
	}
	if len(b) == 0 {
		line, _ := json.Marshal(journalHeader{Format: journalFormat, Version: 1})
		line = append(line, '\n')
		if _, err := j.f.Write(line); err != nil {
			return nil, fmt.Errorf("write sandbox data %s: %w", j.path, err)
		}
		j.header, j.size = int64(len(line)), int64(len(line))
		return nil, nil
	}

	// Everything after the last newline is a torn write.
	intact := b[:bytes.LastIndexByte(b, '\n')+1]
	var entries []entry
	for n, line := range bytes.SplitAfter(intact, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if n == 0 {
			var h journalHeader
			if json.Unmarshal(line, &h) != nil || h.Format != journalFormat || h.Version != 1 {
				return nil, fmt.Errorf("sandbox data %s: not a sandbox data file (version 1)", j.path)
			}
			j.header = int64(len(line))
			continue
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("sandbox data %s line %d: %w", j.path, n+1, err)
		}
		if (e.Op == "message") != (e.Message != nil) || (e.Op != "message" && e.Op != "advance" && e.Op != "start") {
			return nil, fmt.Errorf("sandbox data %s line %d: malformed %q entry", j.path, n+1, e.Op)
		}
		entries = append(entries, e)
	}
	if j.header == 0 {
		return nil, fmt.Errorf("sandbox data %s: not a sandbox data file (version 1)", j.path)
	}
	j.size = int64(len(intact))
	if len(intact) < len(b) {
		if err := j.f.Truncate(j.size); err != nil {
			return nil, fmt.Errorf("drop torn last line of sandbox data %s: %w", j.path, err)
		}
	}
	return entries, nil
}

// write appends entries with one write. On failure it cuts the file back to
// its previous length, so a partial line never sits under later ones.
func (j *journal) write(entries ...entry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("encode sandbox data: %w", err)
		}
	}
	n, err := j.f.Write(buf.Bytes())
	if err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			err = errors.Join(err, terr)
		}
		return fmt.Errorf("write sandbox data %s: %w", j.path, err)
	}
	j.size += int64(n)
	return nil
}

// reset drops every entry, keeping the header and the clock's offset.
func (j *journal) reset(offset time.Duration) error {
	if err := j.f.Truncate(j.header); err != nil {
		return fmt.Errorf("reset sandbox data %s: %w", j.path, err)
	}
	j.size = j.header
	if offset == 0 {
		return nil
	}
	return j.write(entry{Op: "start", By: offset})
}

func (j *journal) close() error {
	return j.f.Close()
}
