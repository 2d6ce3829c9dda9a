package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var pageSource string

var page = template.Must(template.New("report").Funcs(template.FuncMap{"percent": Percent}).Parse(pageSource))

// HTMLOptions are what the page says besides the report.
type HTMLOptions struct {
	// Version is ujumbe's version, for the footer.
	Version string
}

// WriteHTML writes r as one self-contained HTML page: inline CSS and SVG
// charts drawn here, no script, nothing fetched, so it reads the same
// offline, attached to an email or printed. Every number it shows is a
// field of r; the elements that show one carry data-field (the field's
// JSON name) inside an element whose data-address names the message.
func WriteHTML(w io.Writer, r *Report, opts HTMLOptions) error {
	return page.Execute(w, newView(r, opts))
}

// view is what the template reads: the report, and the geometry of its
// charts worked out here.
type view struct {
	R         *Report
	Version   string
	Generated string
	Digest    string // the configuration digest, shortened
	Campaigns []campaignView
}

type campaignView struct {
	*Campaign
	Timeline *timelineChart
	Legend   []legendItem
	Sent     int
	Replied  int
	Messages []messageView
}

type legendItem struct{ Name, Color string }

type messageView struct {
	*Message
	Journey  string // how the message follows another, for people
	Funnel   barChart
	Answers  *barChart // nil when nobody answered
	Outcomes []outcome
}

// outcome is one line of a message's "what else happened" table.
type outcome struct {
	Label, Field string
	N            int
	Detail       []Tally
	DetailField  string // the data-field prefix of the details
	Class        string // bad, warn, muted or ""
}

// barChart is a chart of horizontal bars, one a row.
type barChart struct {
	Kind   string // data-chart: funnel or answers
	Title  string
	Width  int
	Height int
	Rows   []barRow
}

type barRow struct {
	Label   string
	Field   string // data-field of the number
	N       int
	Pct     string // share, "" for none
	Y       int    // top of the row
	BarW    string // bar width
	Color   string
	TextY   int
	LabelW  int
	ValueX  int
	PctX    int
	TrackW  int
	TrackX  int
	BarH    int
	Tooltip string
}

// timelineChart is the sends and replies of a campaign per hour (or day),
// stacked by message.
type timelineChart struct {
	Title  string
	Width  int
	Height int
	Panels []panel
	Ticks  []tick
	Total  int
}

type panel struct {
	Label    string
	Top      int
	Height   int
	Max      int
	Bars     []rect
	Gridline int // y of the top gridline
	Baseline int
}

type rect struct {
	X, Y, W, H string
	Color      string
	Tooltip    string
}

type tick struct {
	X      string
	Label  string
	Label2 string // the date under the first tick of a day
}

// palette colours the messages of a campaign, in order; it prints well
// and is told apart by most colour-blind readers.
var palette = []string{"#2563eb", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"}

// funnel colours: sent, delivered, read, replied.
var funnelColors = []string{"#1e40af", "#2563eb", "#60a5fa", "#059669"}

const (
	chartWidth = 640
	rowHeight  = 30
	labelWidth = 150
	valueWidth = 70
	pctWidth   = 60
)

func newView(r *Report, opts HTMLOptions) *view {
	v := &view{R: r, Version: opts.Version, Generated: r.GeneratedAt.UTC().Format("2 January 2006, 15:04 UTC")}
	v.Digest = r.Configuration.Digest
	if len(v.Digest) > 12 {
		v.Digest = v.Digest[:12]
	}
	for _, c := range r.Campaigns {
		cv := campaignView{Campaign: c}
		for i, m := range c.Messages {
			cv.Legend = append(cv.Legend, legendItem{m.Name, palette[i%len(palette)]})
			cv.Sent += m.Sent
			cv.Replied += m.Replied
			cv.Messages = append(cv.Messages, newMessageView(m))
		}
		if c.Timeline != nil {
			cv.Timeline = newTimelineChart(c)
		}
		v.Campaigns = append(v.Campaigns, cv)
	}
	return v
}

func newMessageView(m *Message) messageView {
	mv := messageView{Message: m, Journey: journeyText(m)}
	mv.Funnel = newBarChart("funnel", "Funnel of "+m.Address, []barInput{
		{"Sent", "sent", m.Sent, m.Sent},
		{"Delivered", "delivered", m.Delivered, m.Sent},
		{"Read", "read", m.Read, m.Sent},
		{"Replied", "replied", m.Replied, m.Sent},
	}, m.Sent, funnelColors)
	if m.Replied > 0 {
		var in []barInput
		for _, a := range m.Answers {
			label := a.Title
			if label == "" {
				label = a.ID
			}
			in = append(in, barInput{label, "answer:" + a.ID, a.Count, m.Replied})
		}
		if m.TextReplies > 0 {
			in = append(in, barInput{"Free text", "text_replies", m.TextReplies, m.Replied})
		}
		colors := make([]string, len(in))
		for i := range colors {
			colors[i] = "#059669"
		}
		chart := newBarChart("answers", "Answers to "+m.Address, in, m.Replied, colors)
		mv.Answers = &chart
	}
	mv.Outcomes = []outcome{
		{Label: "Opted out (replied STOP)", Field: "opt_outs", N: m.OptOuts, Class: "bad"},
		{Label: "Failed", Field: "failed", N: m.Failed, Detail: m.Failures, DetailField: "failure:", Class: "bad"},
		{Label: "Expired (stop_at or 24h window)", Field: "expired", N: m.Expired, Class: "warn"},
		{Label: "Branch not taken", Field: "not_taken", N: m.NotTaken, Class: "muted"},
		{Label: "Previous message not sent", Field: "after_not_sent", N: m.AfterLost, Class: "muted"},
		{Label: "Suppressed", Field: "suppressed", N: m.Suppressed, Detail: m.SuppressedBy, DetailField: "suppressed:", Class: "muted"},
		{Label: "Scheduled", Field: "scheduled", N: m.Scheduled},
		{Label: "To retry", Field: "retry", N: m.Retry, Class: "warn"},
		{Label: "Unknown outcome", Field: "unknown", N: m.Unknown, Class: "warn"},
		{Label: "Orphaned (no longer configured)", Field: "orphaned", N: m.Orphaned, Class: "muted"},
	}
	return mv
}

// journeyText says how m follows another message.
func journeyText(m *Message) string {
	switch {
	case !m.InConfiguration:
		return "No longer in the configuration; its sends are history."
	case m.After == "":
		return "First contact."
	}
	var b strings.Builder
	if m.Delay != "" {
		fmt.Fprintf(&b, "%s after %s", m.Delay, m.After)
	} else {
		fmt.Fprintf(&b, "After %s", m.After)
	}
	if m.When != "" {
		fmt.Fprintf(&b, ", when %s", m.When)
	}
	b.WriteString(".")
	return b.String()
}

type barInput struct {
	label, field string
	n, whole     int
}

// newBarChart lays out bars whose lengths are shares of scale.
func newBarChart(kind, title string, in []barInput, scale int, colors []string) barChart {
	c := barChart{Kind: kind, Title: title, Width: chartWidth, Height: len(in)*rowHeight + 4}
	track := chartWidth - labelWidth - valueWidth - pctWidth
	for i, b := range in {
		row := barRow{
			Label: b.label, Field: b.field, N: b.n, Color: colors[i%len(colors)],
			Y: i*rowHeight + 4, BarH: rowHeight - 10, TextY: i*rowHeight + rowHeight/2 + 6,
			LabelW: labelWidth - 10, TrackX: labelWidth, TrackW: track,
			ValueX: labelWidth + track + valueWidth - 8, PctX: chartWidth - 2,
		}
		w := 0.0
		if scale > 0 {
			w = float64(track) * float64(b.n) / float64(scale)
		}
		row.BarW = num(w)
		if r := Rate(b.n, b.whole); r >= 0 {
			row.Pct = pct(r)
		}
		row.Tooltip = fmt.Sprintf("%s: %d", b.label, b.n)
		c.Rows = append(c.Rows, row)
	}
	return c
}

// pct writes a share in per cent: whole numbers, one decimal under 10%.
func pct(r float64) string {
	if r > 0 && r < 10 && r != math.Trunc(r) {
		return fmt.Sprintf("%.1f%%", r)
	}
	return fmt.Sprintf("%.0f%%", r)
}

// num writes an SVG coordinate.
func num(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

const (
	timelineWidth  = 720
	plotLeft       = 44
	plotRight      = 8
	sendsHeight    = 120
	repliesHeight  = 60
	panelGap       = 40
	timelineTop    = 24
	tickAreaHeight = 34
)

func newTimelineChart(c *Campaign) *timelineChart {
	t := c.Timeline
	unit := "hour"
	if t.Step == 24*time.Hour {
		unit = "day"
	}
	ch := &timelineChart{Title: fmt.Sprintf("Sends and replies per %s (%s)", unit, c.TimeZone), Width: timelineWidth}
	plotW := float64(timelineWidth - plotLeft - plotRight)
	binW := plotW / float64(t.Bins)
	gap := math.Min(binW*0.15, 2)
	top := timelineTop
	for _, p := range []struct {
		label  string
		height int
		counts func(Series) []int
	}{
		{"Sends", sendsHeight, func(s Series) []int { return s.Sends }},
		{"Replies", repliesHeight, func(s Series) []int { return s.Replies }},
	} {
		pn := panel{Label: p.label, Top: top, Height: p.height, Gridline: top, Baseline: top + p.height}
		stack := make([]int, t.Bins)
		for _, s := range t.Series {
			for i, n := range p.counts(s) {
				stack[i] += n
			}
		}
		for _, n := range stack {
			pn.Max = max(pn.Max, n)
		}
		scale := float64(p.height) / float64(max(pn.Max, 1))
		base := make([]int, t.Bins)
		for si, s := range t.Series {
			for i, n := range p.counts(s) {
				if n == 0 {
					continue
				}
				y0 := float64(pn.Baseline) - float64(base[i])*scale
				h := float64(n) * scale
				pn.Bars = append(pn.Bars, rect{
					X: num(plotLeft + float64(i)*binW + gap/2), W: num(binW - gap),
					Y: num(y0 - h), H: num(h), Color: palette[si%len(palette)],
					Tooltip: fmt.Sprintf("%s, %s: %d %s", t.BinStart(i).Format("2 Jan 15:04"), s.Message, n, strings.ToLower(p.label)),
				})
				base[i] += n
			}
		}
		ch.Panels = append(ch.Panels, pn)
		top += p.height + panelGap
	}
	ch.Height = top - panelGap + tickAreaHeight
	ch.Ticks = ticks(t, binW)
	return ch
}

// ticks labels the time axis: at most about 12 labels, on round hours.
func ticks(t *Timeline, binW float64) []tick {
	every := 1
	for _, n := range []int{1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720} {
		every = n
		if t.Bins/n <= 12 {
			break
		}
	}
	var out []tick
	lastDay := ""
	for i := 0; i < t.Bins; i++ {
		at := t.BinStart(i)
		if t.Step == time.Hour && at.Hour()%every != 0 && i != 0 {
			continue
		}
		if t.Step == time.Hour && i == 0 && at.Hour()%every != 0 && t.Bins > every {
			// Start on a round hour unless the chart is short.
			continue
		}
		if t.Step != time.Hour && i%every != 0 {
			continue
		}
		tk := tick{X: num(plotLeft + (float64(i)+0.5)*binW)}
		day := at.Format("2 Jan")
		if t.Step == time.Hour {
			tk.Label = at.Format("15:04")
			if day != lastDay {
				tk.Label2 = day
			}
		} else {
			tk.Label = day
		}
		lastDay = day
		out = append(out, tk)
	}
	return out
}
