package command

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/inputfile"
	"github.com/ujumbe/ujumbe/internal/jsonerr"
	"github.com/ujumbe/ujumbe/sandbox"
)

// provider is the Briq endpoint a command talks to: the real service, or
// with -sandbox an embedded sandbox on loopback.
type provider struct {
	client *briq.Client
	// now is the clock sends are timed and planned by: the wall clock, or
	// the embedded sandbox's.
	now func() time.Time
	// sleep waits for d: in real time, or by moving the sandbox's clock.
	sleep func(ctx context.Context, d time.Duration) error
	// closeFn stops the embedded sandbox, if any.
	closeFn func() error
	// clockNote says, in a rehearsal, which clock it runs on; "" for real runs.
	clockNote string
	// templatesNote says, in a rehearsal, where its templates come from,
	// for a template the sandbox does not have; "" for real runs.
	templatesNote string
}

// headedError is an error that knows the heading it is shown under,
// better than the one of the step that met it (headingOf).
type headedError struct {
	heading string
	err     error
}

func (e *headedError) Error() string { return e.err.Error() }
func (e *headedError) Unwrap() error { return e.err }

// headingOf is the heading err carries, or def.
func headingOf(err error, def string) string {
	var he *headedError
	if errors.As(err, &he) {
		return he.heading
	}
	return def
}

// providerTrouble is the heading of an error openProvider returned.
func providerTrouble(err error) string { return headingOf(err, "Cannot reach the provider") }

func (p *provider) close() error {
	if p.closeFn == nil {
		return nil
	}
	return p.closeFn()
}

// rehearsalTrouble heads the errors of a rehearsal's embedded sandbox that
// cannot start: its settings (sandbox.json, templates.json) are wrong.
const rehearsalTrouble = "Cannot start the rehearsal's sandbox"

// errNoAPIKey is returned when no API key is configured for a real send.
var errNoAPIKey = errors.New("no API key: set BRIQ_API_KEY in the environment, or api_key in the provider \"briq\" block (from a sensitive variable), or rehearse with -sandbox")

// apiKey is the Briq API key: BRIQ_API_KEY, else the provider block's
// api_key; "" when neither is set.
func (c *cli) apiKey(cfg *config.Config) string {
	return cmp.Or(c.getenv("BRIQ_API_KEY"), cfg.Provider.APIKey)
}

// openProvider connects to Briq, or with sandbox to an embedded sandbox
// whose data lives in the rehearsal directory beside the rehearsal state.
func (c *cli) openProvider(cfg *config.Config, sandboxed bool, conns int) (*provider, error) {
	opts := briq.Options{
		BaseURL:  cmp.Or(c.getenv("BRIQ_BASE_URL"), cfg.Provider.BaseURL),
		APIKey:   c.apiKey(cfg),
		Version:  Version,
		MaxConns: conns,
	}
	p := &provider{now: time.Now, sleep: sleepCtx}
	if c.now != nil {
		p.now, p.sleep = c.now, c.sleep
	}
	if sandboxed {
		dir := filepath.Join(c.dir, rehearsalDir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create rehearsal directory: %w", err)
		}
		so, err := c.rehearsalOptions()
		if err != nil {
			return nil, &headedError{rehearsalTrouble, err}
		}
		so.DataFile = filepath.Join(dir, "sandbox.data")
		so.Start = rehearsalStart(cfg)
		srv, err := sandbox.New(so)
		if err != nil {
			return nil, &headedError{rehearsalTrouble, fmt.Errorf("start the embedded sandbox: %w", err)}
		}
		p.templatesNote = "A rehearsal's sandbox knows the templates of templates.json in the configuration directory: add it there."
		if so.TemplatesFile == "" {
			p.templatesNote = "A rehearsal's sandbox knows the templates of templates.json in the configuration directory, and there is none: " +
				"add one, as examples/quickstart/templates.json does, with each template's name, status and params."
		}
		url, err := srv.Start("127.0.0.1:0")
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("start the embedded sandbox: %w", err)
		}
		opts.BaseURL, opts.APIKey = url, srv.APIKey()
		p.closeFn = srv.Close
		// A rehearsal runs on the sandbox's clock: waiting moves it forward
		// instead of sleeping, so a campaign of days rehearses in seconds.
		p.now, p.sleep = srv.Now, advancing(srv)
		p.clockNote = rehearsalClockNote(srv.Now(), so.Start)
	} else if opts.APIKey == "" {
		return nil, &headedError{"No API key", errNoAPIKey}
	}
	client, err := briq.New(opts)
	if err != nil {
		p.close()
		return nil, err
	}
	p.client = client
	return p, nil
}

// advancing returns a sleep that moves srv's clock forward instead of
// waiting.
func advancing(srv *sandbox.Server) func(ctx context.Context, d time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return srv.Advance(max(d, 0))
	}
}

// rehearsalStart is where a new rehearsal's clock starts: the earliest
// start_at of the configuration's campaigns, zero when none has one. The
// sandbox starts at now instead when that is earlier.
func rehearsalStart(cfg *config.Config) time.Time {
	var start time.Time
	for _, c := range cfg.Campaigns {
		if !c.StartAt.IsZero() && (start.IsZero() || c.StartAt.Before(start)) {
			start = c.StartAt
		}
	}
	return start
}

// rehearsalClockNote tells the operator which clock a rehearsal runs on:
// the sandbox's simulated one, now at now, which a new rehearsal starts at
// the campaigns' earliest start (shown in its time zone) when that has passed.
func rehearsalClockNote(now, start time.Time) string {
	if start.IsZero() {
		return fmt.Sprintf("Rehearsing on a simulated clock, now %s. Real runs use real time.", now.Format(time.RFC3339))
	}
	return fmt.Sprintf("Rehearsing on a simulated clock, now %s. A new rehearsal starts at the earliest\nstart_at (%s) or now, if later; delete %s/ to start again.\nReal runs use real time.",
		now.In(start.Location()).Format(time.RFC3339), start.Format(time.RFC3339), rehearsalDir)
}

// rehearsalFile is the optional file in the configuration directory that
// tunes the embedded sandbox's simulated customers.
const rehearsalFile = "sandbox.json"

// rehearsalSettings are the contents of sandbox.json.
type rehearsalSettings struct {
	// Seed changes who answers what (the same seed, the same answers).
	Seed uint64 `json:"seed"`
	// Silent is the share of customers who never answer (default 0.2).
	Silent *float64 `json:"silent"`
	// Answers weighs the buttons and list rows by id (default: equal).
	Answers map[string]float64 `json:"answers"`
	// OptOut is the share of customers who answer templates with STOP.
	OptOut float64 `json:"opt_out"`
	// MetaWindowRule applies Meta's window rule: only a customer's message
	// opens the 24h window, so the rehearsal shows which free-form
	// follow-ups would expire if a template alone did not open it.
	MetaWindowRule bool `json:"meta_window_rule"`
	// MarketingLimit is Meta's per-user marketing limit: a template to a
	// customer who got this many in the last 24h is refused with 131049.
	MarketingLimit int `json:"marketing_limit"`
}

// rehearsalOptions are the embedded sandbox's options: the templates of
// templates.json and the customers of sandbox.json, when present.
func (c *cli) rehearsalOptions() (sandbox.Options, error) {
	var so sandbox.Options
	if tf := filepath.Join(c.dir, "templates.json"); fileExists(tf) {
		so.TemplatesFile = tf
	}
	path := filepath.Join(c.dir, rehearsalFile)
	b, err := inputfile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return so, nil
	}
	if err != nil {
		return so, fmt.Errorf("read %s: %w", path, err)
	}
	var rs rehearsalSettings
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return so, fmt.Errorf("read %s: %w", rehearsalFile, jsonerr.Explain(path, b, err, `{"seed": 7, "silent": 0.2, "answers": {"yes": 2, "no": 1}, "opt_out": 0.05}`))
	}
	so.Seed, so.Silent, so.Answers, so.OptOut = rs.Seed, rs.Silent, rs.Answers, rs.OptOut
	so.MetaWindowRule = rs.MetaWindowRule
	so.Faults.MarketingLimit = rs.MarketingLimit
	return so, nil
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// resolveSender resolves the provider block's sender (a number or
// phone_number_id) to the sender_id first contacts go out on; "" lets Briq
// pick the workspace's sender.
func (c *cli) resolveSender(p *provider, want string) (string, error) {
	if want == "" {
		return "", nil
	}
	senders, err := p.client.ListSenders(c.ctx, briq.SenderQuery{})
	if err != nil {
		return "", fmt.Errorf("list senders: %w", err)
	}
	norm := strings.TrimPrefix(want, "+")
	var known []string
	for _, s := range senders {
		if strings.TrimPrefix(s.DisplayNumber, "+") == norm || s.PhoneNumberID == want {
			return s.ID, nil
		}
		known = append(known, s.DisplayNumber)
	}
	return "", fmt.Errorf("sender %q is not one of the workspace's senders %v", want, known)
}
