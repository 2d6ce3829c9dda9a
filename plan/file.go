package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ujumbe/ujumbe/atomicfile"
	"github.com/ujumbe/ujumbe/inputfile"
	"github.com/ujumbe/ujumbe/internal/jsonstr"
)

// DefaultTTL is how long a saved plan stays valid.
const DefaultTTL = 24 * time.Hour

// FileFormatVersion is the version of saved plans. A saved plan of another
// version is refused: plans expire within a day, so making it again is cheap.
const FileFormatVersion = "2"

// Errors of a saved plan that apply refuses.
var (
	ErrStale   = errors.New("saved plan is stale")
	ErrExpired = errors.New("saved plan has expired")
)

// File is a saved plan (`plan -out`). It records what the plan was made
// from — the state's lineage and serial, a digest of every input file, the
// options, and whether it was a rehearsal — the sends it approves and the
// plan as it was shown. Applying it re-plans with the same options and
// sends only what both plans send with the same content: it may do less
// than the saved plan, never more.
type File struct {
	FormatVersion string `json:"format_version"`
	// CreatedAt is when the plan was made, on the clock it was made by (a
	// rehearsal's is the sandbox's simulated clock).
	CreatedAt time.Time `json:"created_at"`
	Lineage   string    `json:"lineage"`
	Serial    uint64    `json:"serial"`
	Made
	Sends []Planned `json:"sends"`
	// Plan is the plan as it was shown when it was made, which apply shows
	// again: what the operator approved.
	Plan *Document `json:"plan"`
}

// Made is how a saved plan was made: what apply checks and repeats.
type Made struct {
	// ExpiresAt is when the saved plan stops being valid, on the wall
	// clock, also for a rehearsal.
	ExpiresAt time.Time `json:"expires_at"`
	// Sandbox marks a rehearsal's plan (plan -sandbox), which only a
	// rehearsal may apply; a real plan only a real apply.
	Sandbox bool `json:"sandbox"`
	// Backend names where the state the plan was made from lives: "local
	// file" and its absolute path, or the PostgreSQL database's host and
	// name and the schema. Never a connection string, which may carry a
	// password.
	Backend string `json:"backend"`
	// Inputs maps each input file (configuration, variable and CSV files,
	// by path) to its content digest.
	Inputs map[string]string `json:"inputs"`
	// Variables is a digest of the -var values and UJUMBE_VAR_ environment
	// the plan was made with, which may carry secrets and so are not stored.
	Variables string `json:"variables"`
	// Targets, Excludes and Replace are the addresses of -target, -exclude
	// and -replace as given, which apply plans with again.
	Targets  []string `json:"targets,omitempty"`
	Excludes []string `json:"excludes,omitempty"`
	Replace  []string `json:"replace,omitempty"`
	// Guard holds the permissions the plan was made with, which apply
	// grants again.
	Guard GuardOptions `json:"guard"`
}

// Planned is one send a saved plan approves.
type Planned struct {
	Address string `json:"address"`
	Digest  string `json:"digest"`
	// Replace marks an approved resend (-replace) of a send the state has.
	Replace bool `json:"replace,omitempty"`
}

// NewFile makes the saved form of p, made as m says.
func NewFile(p *Plan, m Made) *File {
	m.ExpiresAt = m.ExpiresAt.UTC()
	f := &File{
		FormatVersion: FileFormatVersion,
		CreatedAt:     p.CreatedAt.UTC(),
		Lineage:       p.Lineage,
		Serial:        p.Serial,
		Made:          m,
		Sends:         []Planned{},
		Plan:          p.Document(false),
	}
	for i := range p.Items {
		if it := &p.Items[i]; it.Class.Sends() {
			f.Sends = append(f.Sends, Planned{Address: it.Addr().String(), Digest: it.Digest.String(), Replace: it.Replace})
		}
	}
	return f
}

// Write saves f at path, atomically and readable only by its owner.
func (f *File) Write(path string) error {
	b, err := f.marshal()
	if err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

// marshal returns json.Marshal's bytes of f and a newline. The sends, a
// million at a million recipients, are appended by hand into one buffer of
// about the right size: through json.Marshal, its growing buffer and the
// copies of it held three times the file's size at once.
func (f *File) marshal() ([]byte, error) {
	head := *f
	head.Sends, head.Plan = []Planned{}, nil
	hb, err := json.Marshal(&head)
	if err != nil {
		return nil, err
	}
	pb, err := json.Marshal(f.Plan)
	if err != nil {
		return nil, err
	}
	// Sends and Plan are the last fields: the head ends with both, empty.
	const tail = `"sends":[],"plan":null}`
	if !bytes.HasSuffix(hb, []byte(tail)) {
		return nil, errors.New("the saved plan's fields are not in the order it writes them")
	}
	n := len(hb) + len(pb) + 1
	for i := range f.Sends {
		n += len(f.Sends[i].Address) + len(f.Sends[i].Digest) + 48 // the rest, escapes, replace
	}
	b := append(make([]byte, 0, n), hb[:len(hb)-len(tail)]...)
	b = append(b, `"sends":[`...)
	for i, s := range f.Sends {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(append(b, `{"address":`...), s.Address)
		b = jsonstr.Append(append(b, `,"digest":`...), s.Digest)
		if s.Replace {
			b = append(b, `,"replace":true`...)
		}
		b = append(b, '}')
	}
	b = append(append(b, `],"plan":`...), pb...)
	return append(b, '}', '\n'), nil
}

// ReadFile loads a saved plan.
func ReadFile(path string) (*File, error) {
	b, err := inputfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read plan %s: not a saved ujumbe plan: %w", path, err)
	}
	if f.FormatVersion != FileFormatVersion {
		return nil, fmt.Errorf("read plan %s: it was saved by another version of ujumbe (plan format %q; this one reads %q); run \"ujumbe plan -out\" again", path, f.FormatVersion, FileFormatVersion)
	}
	if f.Plan == nil {
		return nil, fmt.Errorf("read plan %s: not a saved ujumbe plan: it holds no plan", path)
	}
	return &f, nil
}

// Check refuses a saved plan that has expired at now (the wall clock), or
// whose state or inputs have changed since it was made. The errors wrap
// ErrExpired or ErrStale and say what changed.
func (f *File) Check(now time.Time, lineage string, serial uint64, inputs map[string]string, variables string) error {
	if !now.Before(f.ExpiresAt) {
		return fmt.Errorf("%w: it expired at %s; run \"ujumbe plan -out\" again", ErrExpired, stamp(f.ExpiresAt))
	}
	if f.Lineage == "" && lineage != "" {
		// Made from the empty state where this one is now (apply checks
		// the location): the state that has since begun.
		return fmt.Errorf("%w: the state changed since the plan was made (it was empty, now serial %d); run \"ujumbe plan -out\" again", ErrStale, serial)
	}
	if lineage != f.Lineage {
		made, now := "lineage "+f.Lineage, "lineage "+lineage
		if lineage == "" {
			now = "empty"
		}
		return fmt.Errorf("%w: it was made for another state (%s; this state is %s); run \"ujumbe plan -out\" again", ErrStale, made, now)
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

// Skip is a send a saved plan approved that apply does not make, and why.
type Skip struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
}

// Select returns the items of p — a plan made afresh at apply time with f's
// options — that apply may send: those f approved, with the same content,
// and as a resend only where f approved one. skipped lists, in f's order,
// the sends f approved that p does not send so, with the reason; unapproved
// counts the sends of p that f did not approve (due since it was made),
// which apply leaves for a later plan.
func (f *File) Select(p *Plan) (items []*Item, skipped []Skip, unapproved int) {
	approved := make(map[string]int, len(f.Sends))
	for i, s := range f.Sends {
		approved[s.Address] = i
	}
	found := make([]*Item, len(f.Sends))
	for i := range p.Items {
		it := &p.Items[i]
		j, ok := approved[it.Addr().String()]
		if !ok {
			if it.Class.Sends() {
				unapproved++
			}
			continue
		}
		found[j] = it
		if s := f.Sends[j]; it.Class.Sends() && s.Digest == it.Digest.String() && s.Replace == it.Replace {
			items = append(items, it)
		}
	}
	for j, s := range f.Sends {
		it := found[j]
		var why string
		switch {
		case it == nil:
			why = "no longer in the plan"
		case !it.Class.Sends():
			why = "now " + it.Class.Name() + ": " + it.Reason
		case s.Digest != it.Digest.String():
			why = "its content differs from the content approved"
		case s.Replace != it.Replace:
			why = "the plan approved it as a resend (-replace), which it no longer is"
		default:
			continue
		}
		skipped = append(skipped, Skip{Address: s.Address, Reason: why})
	}
	return items, skipped, unapproved
}
