package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/ujumbe/ujumbe/atomicfile"
)

// DefaultTTL is how long a saved plan stays valid.
const DefaultTTL = 24 * time.Hour

// Errors of a saved plan that apply refuses.
var (
	ErrStale   = errors.New("saved plan is stale")
	ErrExpired = errors.New("saved plan has expired")
)

// File is a saved plan (`plan -out`). It records what the plan was made
// from — the state's lineage and serial, and a digest of every input file —
// and the sends it approves. Applying it re-plans and sends only what both
// plans send with the same content: it may do less than the saved plan,
// never more.
type File struct {
	FormatVersion string    `json:"format_version"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	Lineage       string    `json:"lineage"`
	Serial        uint64    `json:"serial"`
	// Inputs maps each input file (configuration, variable and CSV files,
	// by path) to its content digest.
	Inputs map[string]string `json:"inputs"`
	// Variables is a digest of the -var values and UJUMBE_VAR_ environment
	// the plan was made with, which may carry secrets and so are not stored.
	Variables string   `json:"variables"`
	Options   []string `json:"options,omitempty"` // -target, -exclude, -replace as given
	// Guard holds the permissions the plan was made with, which apply
	// grants again.
	Guard GuardOptions `json:"guard"`
	Sends []Planned    `json:"sends"`
}

// Planned is one send a saved plan approves.
type Planned struct {
	Address string `json:"address"`
	Digest  string `json:"digest"`
}

// NewFile makes the saved form of p.
func NewFile(p *Plan, inputs map[string]string, variables string, options []string, g GuardOptions, ttl time.Duration) *File {
	f := &File{
		FormatVersion: FormatVersion,
		CreatedAt:     p.CreatedAt.UTC(),
		ExpiresAt:     p.CreatedAt.Add(ttl).UTC(),
		Lineage:       p.Lineage,
		Serial:        p.Serial,
		Inputs:        inputs,
		Variables:     variables,
		Options:       options,
		Guard:         g,
		Sends:         []Planned{},
	}
	for i := range p.Items {
		if it := &p.Items[i]; it.Class.Sends() {
			f.Sends = append(f.Sends, Planned{Address: it.Addr.String(), Digest: it.Digest.String()})
		}
	}
	return f
}

// Write saves f at path, atomically and readable only by its owner.
func (f *File) Write(path string) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

// ReadFile loads a saved plan.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read plan %s: not a saved ujumbe plan: %w", path, err)
	}
	if f.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("read plan %s: format version %q, this ujumbe reads %q", path, f.FormatVersion, FormatVersion)
	}
	return &f, nil
}

// Check refuses a saved plan that has expired at now, or whose state or
// inputs have changed since it was made. The errors wrap ErrExpired or
// ErrStale and say what changed.
func (f *File) Check(now time.Time, lineage string, serial uint64, inputs map[string]string, variables string) error {
	if !now.Before(f.ExpiresAt) {
		return fmt.Errorf("%w: it expired at %s; run \"ujumbe plan -out\" again", ErrExpired, stamp(f.ExpiresAt))
	}
	if lineage != f.Lineage {
		return fmt.Errorf("%w: it was made for another state (lineage %s, this state is %s)", ErrStale, f.Lineage, lineage)
	}
	if serial != f.Serial {
		return fmt.Errorf("%w: the state changed since the plan was made (serial %d, now %d); run \"ujumbe plan -out\" again", ErrStale, f.Serial, serial)
	}
	var changed []string
	for path, digest := range inputs {
		if f.Inputs[path] != digest {
			changed = append(changed, path)
		}
	}
	for path := range f.Inputs {
		if _, ok := inputs[path]; !ok {
			changed = append(changed, path)
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return fmt.Errorf("%w: input files changed since the plan was made: %v", ErrStale, changed)
	}
	if variables != f.Variables {
		return fmt.Errorf("%w: the variables differ from those the plan was made with", ErrStale)
	}
	return nil
}

// Approves returns a filter that admits the items of a fresh plan which f
// also sends, with the same content.
func (f *File) Approves() func(*Item) bool {
	set := make(map[string]string, len(f.Sends))
	for _, s := range f.Sends {
		set[s.Address] = s.Digest
	}
	return func(it *Item) bool {
		d, ok := set[it.Addr.String()]
		return ok && d == it.Digest.String()
	}
}
