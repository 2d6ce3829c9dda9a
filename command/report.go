package command

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/jszwec/csvutil"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/atomicfile"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/report"
	"github.com/ujumbe/ujumbe/state"
)

var reportCommand = &subcommand{
	name:     "report",
	synopsis: "Write one CSV row per recipient and message, or the funnel as HTML",
	help: `Usage: ujumbe [global options] report -csv=FILE [options]
       ujumbe [global options] report -html=FILE [options]

  Writes one CSV row per recipient and message, in address order: key,
  phone, campaign, message, variant (the variant of the message it was
  sent with, for a message with variants), status (for a send the state
  records, its outcome: accepted, unknown, retry, deferred, failed or
  expired; for one the configuration wants that was never made, what
  became of it: scheduled, holdout, suppressed, not_taken, after_not_sent
  or expired, with the columns that follow empty), provider_status (pending,
  sent, delivered, read or failed), message_id, conversation_id, sent_at
  (when the accepted request left), delivered_at, read_at (RFC 3339, UTC;
  delivered and read times are when refresh first saw them), reply_id,
  reply_title, reply_text, replied_at, opted_out, attempts, error_code and
  systemic (true when the latest failure was the run's, not the send's:
  Briq unreachable or unavailable, the account refused, rate limited;
  such failures do not use up the send's attempts).
  Run "ujumbe refresh" first for fresh statuses and replies.

  A reply that starts with =, +, -, @, a tab or a carriage return is written
  with a leading ' so that a spreadsheet does not run it as a formula. A
  regular file is replaced whole, with mode 0600; an existing device, pipe
  or symbolic link (such as /dev/stdout) is written through, never replaced.
  "-csv=-" writes to standard output. Reading the state needs no lock.

  -html=FILE writes the funnel of every campaign and message as one
  self-contained HTML page (inline CSS and SVG, nothing fetched, no script),
  to read offline, attach to an email or print: per message, in the
  configuration's order, the funnel sent, delivered, read and replied as
  bars with numbers and percentages; the answers per button or list row;
  opt-outs, failures by error code, expired, branches not taken, previous
  message not sent, suppressed and still to come; per campaign, the sends and replies per
  hour in its time zone; and when it was made, from which state (serial,
  lineage) and configuration (files and digest). Its numbers are those of
  "ujumbe show -json"; like show, it reads the configuration.

  -variants=FILE writes, for each message whose recipients are split by
  variant, one CSV row per variant: campaign, message, group (the
  variant's name), recipients, sent, delivered, read, replied, reply_rate
  (replied / sent), answers (id=count;... per button or list row); one row
  for the holdout (group "holdout": the recipients kept out, who got
  nothing); and with two variants one row (group "A - B") with the
  difference of their reply rates and its 95% confidence interval
  (Newcombe's hybrid score interval): difference, ci_low, ci_high. An
  interval that includes 0 cannot tell the variants apart. Like -html it
  reads the configuration. -csv, -html and -variants can be given together.

  -target narrows each of them to the sends under an address:
  -target=campaign.NAME, campaign.NAME.message.NAME, or one send,
  campaign.NAME.message.NAME["KEY"] (repeatable). An address that matches
  nothing is an error, as for show: none the configuration wants or the
  state records. When the configuration cannot be read, -csv writes the
  rows of the sends the state records, and says so.

Options:
  -csv=FILE          Where to write the report ("-" for standard output).
  -html=FILE         Where to write the HTML report ("-" for standard output).
  -variants=FILE     Where to write the per-variant CSV ("-" for standard output).
  -target=ADDR       Only the sends under ADDR (repeatable).
  -var 'name=value'  Set a variable, for -html (repeatable).
  -var-file=FILE     Set variables from an HCL file, for -html (repeatable).
  -state=PATH        State file (default ujumbe.state in the config dir).
  -sandbox           Report on the rehearsal state.
`,
	run: runReport,
}

// reportRow is one line of the report.
type reportRow struct {
	Key            string `csv:"key"`
	Phone          string `csv:"phone"`
	Campaign       string `csv:"campaign"`
	Message        string `csv:"message"`
	Variant        string `csv:"variant"`
	Status         string `csv:"status"`
	ProviderStatus string `csv:"provider_status"`
	MessageID      string `csv:"message_id"`
	ConversationID string `csv:"conversation_id"`
	SentAt         string `csv:"sent_at"`
	DeliveredAt    string `csv:"delivered_at"`
	ReadAt         string `csv:"read_at"`
	ReplyID        string `csv:"reply_id"`
	ReplyTitle     string `csv:"reply_title"`
	ReplyText      string `csv:"reply_text"`
	RepliedAt      string `csv:"replied_at"`
	OptedOut       bool   `csv:"opted_out"`
	Attempts       int    `csv:"attempts"`
	ErrorCode      string `csv:"error_code"`
	// Systemic marks a latest failure every send of its run met (Briq
	// unreachable or unavailable, the account refused, rate limited):
	// not counted against the send's own attempts.
	Systemic bool `csv:"systemic"`
}

func runReport(c *cli, args []string) int {
	var (
		sf  stateFlags
		out string
	)
	fs := c.newFlagSet("report")
	sf.add(fs, false)
	sf.inspect = true
	fs.StringVar(&out, "csv", "", "")
	var (
		htmlOut, variantsOut string
		cf                   configFlags
		targets              multiFlag
	)
	fs.StringVar(&htmlOut, "html", "", "")
	fs.StringVar(&variantsOut, "variants", "", "")
	fs.Var(&targets, "target", "")
	cf.add(fs)
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 0 {
		return c.usage(view{}, "", "report takes no arguments, got %q.", fs.Args())
	}
	if out == "" && htmlOut == "" && variantsOut == "" {
		return c.usage(view{}, "report", "-csv=FILE is required, or -html=FILE or -variants=FILE (\"-\" writes to standard output).")
	}
	patterns, diags := parsePatterns("target", targets)
	if diags.HasErrors() {
		c.printDiags(view{}, diags, nil)
		return exitError
	}
	st, warnings, err := c.readState(sf)
	if err != nil {
		return c.fail(view{}, "Cannot read the state", err)
	}
	c.printWarnings(view{}, warnings)
	// The rows of the sends the configuration wants that the state does
	// not record: held out, suppressed, not taken, scheduled.
	var unrecorded []reportRow
	opts := report.Options{Targets: patterns}
	if out != "" {
		opts.Unrecorded = func(it *plan.Item, o report.Unrecorded) {
			a := it.Addr()
			row := reportRow{Key: a.Key, Phone: it.Phone(), Campaign: a.Campaign, Message: a.Message, Variant: it.Variant(), Status: string(o)}
			_, row.OptedOut = st.OptOut(row.Phone)
			unrecorded = append(unrecorded, row)
		}
	}
	cfg, cdiags := c.loadConfig(cf)
	switch {
	case htmlOut != "" || variantsOut != "":
		// One report of the configuration and the state for every file:
		// at a million recipients it plans them all.
		r, ok := c.configReport(cfg, cdiags, st, sf, opts)
		if !ok {
			return exitError
		}
		for _, f := range []struct {
			out  string
			file reportFile
		}{{htmlOut, htmlFile}, {variantsOut, variantsFile}} {
			if f.out == "" {
				continue
			}
			if code := c.writeReportFile(f.file, r, f.out); code != exitOK {
				return code
			}
		}
	case cdiags.HasErrors():
		// The state alone still has the sends made.
		if diags := plan.CheckRecorded(st, patterns); diags.HasErrors() {
			c.printDiags(view{}, diags, nil)
			return exitError
		}
		first := cdiags[slices.IndexFunc(cdiags, func(d *hcl.Diagnostic) bool { return d.Severity == hcl.DiagError })]
		fmt.Fprintf(c.stderr, "Note: the configuration cannot be read (%s), so the report has rows only for the sends the state records.\n", first.Summary)
	default:
		if _, ok := c.configReport(cfg, cdiags, st, sf, opts); !ok {
			return exitError
		}
	}
	if out == "" {
		return exitOK
	}

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	enc := csvutil.NewEncoder(w)
	if err := enc.EncodeHeader(reportRow{}); err != nil {
		return c.fail(view{}, "Cannot write the report", err)
	}
	rows := unrecorded
	for s := range st.Sends(addrs.Pattern{}) {
		if len(patterns) > 0 && !addrs.MatchAny(patterns, s.Addr) {
			continue
		}
		rows = append(rows, reportRowOf(st, s))
	}
	if len(unrecorded) > 0 {
		slices.SortFunc(rows, func(a, b reportRow) int {
			return cmp.Or(cmp.Compare(a.Campaign, b.Campaign), cmp.Compare(a.Message, b.Message), cmp.Compare(a.Key, b.Key))
		})
	}
	for _, row := range rows {
		if err := enc.Encode(row); err != nil {
			return c.fail(view{}, "Cannot write the report", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return c.fail(view{}, "Cannot write the report", err)
	}
	if out == "-" {
		if _, err := c.stdout.Write(buf.Bytes()); err != nil {
			return c.fail(view{}, "Cannot write the report", err)
		}
		return exitOK
	}
	path := c.path(out)
	// A device, pipe or link (-csv=/dev/stdout) is written through; a
	// confirmation on stdout could land in the report itself.
	fi, err := os.Lstat(path)
	quiet := err == nil && !fi.Mode().IsRegular()
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return c.fail(view{}, "Cannot write the report", err)
	}
	if !quiet {
		fmt.Fprintf(c.stdout, "Wrote %s to %s.\n", plural(len(rows), "row"), c.path(out))
	}
	return exitOK
}

func reportRowOf(st *state.State, s state.Send) reportRow {
	row := reportRow{
		Key: s.Addr.Key, Phone: s.Phone, Campaign: s.Addr.Campaign, Message: s.Addr.Message, Variant: s.Variant,
		Status: s.Outcome.String(), ProviderStatus: s.ProviderStatus.String(),
		MessageID: s.MessageID, ConversationID: s.ConversationID,
		DeliveredAt: rfc3339(s.DeliveredAt), ReadAt: rfc3339(s.ReadAt),
		Attempts: s.Attempts, ErrorCode: s.ErrorCode, Systemic: s.Systemic,
	}
	if s.Outcome == state.OutcomeAccepted {
		// The intent is written just before the request leaves; the result
		// of a send refresh found is recorded long after.
		row.SentAt = rfc3339(s.IntentAt)
	}
	if r := s.Reply; r != nil {
		row.ReplyID, row.ReplyTitle, row.ReplyText = defuse(r.ID), defuse(r.Title), defuse(r.Text)
		row.RepliedAt = rfc3339(r.At)
	}
	_, row.OptedOut = st.OptOut(s.Phone)
	return row
}

// reportTime is RFC 3339 in UTC with the state's millisecond precision.
const reportTime = "2006-01-02T15:04:05.000Z07:00"

// rfc3339 formats t for the report, or "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(reportTime)
}

// defuse keeps a spreadsheet from reading a recipient's text as a formula
// (OWASP's advice on CSV injection): such text gets a leading quote.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
