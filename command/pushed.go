package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ujumbe/ujumbe/atomicfile"
	"github.com/ujumbe/ujumbe/state"
)

// pushedMark is what state push leaves beside the local state file it
// pushed (FILE.pushed): the file stays, as a copy from that moment, and the
// mark stops it being used as the state again once the team's sends are
// recorded in the database (see checkNotPushed).
type pushedMark struct {
	Lineage string    `json:"lineage"`
	Serial  uint64    `json:"serial"`
	Into    string    `json:"into"`
	At      time.Time `json:"at"`
}

func markPath(path string) string { return path + ".pushed" }

// markPushed records that the local state st at path was pushed into.
func markPushed(path string, st *state.State, into string, at time.Time) error {
	b, err := json.MarshalIndent(pushedMark{Lineage: st.Lineage(), Serial: st.Serial(), Into: into, At: at.UTC()}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(markPath(path), append(b, '\n'), 0o600)
}

// checkNotPushed refuses the local state st at path when state push moved
// it into a database: from then on the team records its sends there, and
// this file knows none of them, so whoever got a message since would get it
// again. A state of another lineage in the same file is not the one pushed.
func checkNotPushed(st *state.State, path string) error {
	b, err := os.ReadFile(markPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", markPath(path), err)
	}
	var m pushedMark
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s does not parse (%v): it marks %s as pushed into a database; delete it only if this file is the state to use", markPath(path), err, path)
	}
	if m.Lineage != st.Lineage() {
		return nil
	}
	name := filepath.Base(path)
	return fmt.Errorf("%s was pushed into %s at %s (serial %d), and the sends made since are recorded there, not in this file: "+
		"using it would message those recipients again. Put the backend \"pg\" block back; or, to keep the state in this file again, "+
		"bring the database's copy here with the backend block in place (\"ujumbe state pull > %s\"), then remove the block and delete %s",
		path, m.Into, m.At.Format(time.RFC3339), m.Serial, name, filepath.Base(markPath(path)))
}
