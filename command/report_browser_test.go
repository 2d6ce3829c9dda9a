package command

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ujumbe/ujumbe/report"
)

// browserTestsVar, set to 1 (as .ci/run does), makes the browser tests
// fail rather than skip when no Chromium can be found.
const browserTestsVar = "UJUMBE_BROWSER_TESTS"

// chromium returns the Chromium to drive: $UJUMBE_CHROMIUM, or Debian's
// chromium (or another Chrome) on PATH. Without one the test is skipped,
// unless UJUMBE_BROWSER_TESTS=1, which makes it fail.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("UJUMBE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const how = "no Chromium found: install Debian's chromium (apt-get install chromium) or set UJUMBE_CHROMIUM to a Chrome binary, then run go test ./command -run Browser"
	if os.Getenv(browserTestsVar) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure, as in CI)", how, browserTestsVar)
	}
	t.Skipf("%s; %s=1 makes a missing browser a failure, as .ci/run does", how, browserTestsVar)
	return ""
}

// renderedPage is what the browser test reads off the rendered report.
type renderedPage struct {
	// Addresses are the messages' data-address, in page order.
	Addresses []string `json:"addresses"`
	// Fields are the data-field texts per message address.
	Fields map[string]map[string]string `json:"fields"`
	// Top are the data-field texts outside the messages.
	Top    map[string]string `json:"top"`
	Charts []renderedChart   `json:"charts"`
}

type renderedChart struct {
	Chart  string  `json:"chart"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Shapes int     `json:"shapes"` // drawn shapes (rect, line, path) of non-zero size
}

const readPage = `(() => {
  const out = {addresses: [], fields: {}, top: {}, charts: []};
  document.querySelectorAll('[data-address]').forEach(el => {
    const m = {};
    el.querySelectorAll('[data-field]').forEach(f => { m[f.dataset.field] = f.textContent.trim(); });
    out.addresses.push(el.dataset.address);
    out.fields[el.dataset.address] = m;
  });
  document.querySelectorAll('[data-field]').forEach(f => {
    if (!f.closest('[data-address]')) out.top[f.dataset.field] = f.textContent.trim();
  });
  document.querySelectorAll('svg').forEach(s => {
    const r = s.getBoundingClientRect();
    const shapes = Array.from(s.querySelectorAll('rect, line, path')).filter(x => {
      const b = x.getBBox(); return b.width > 0 || b.height > 0;
    }).length;
    out.charts.push({chart: s.dataset.chart || '', width: r.width, height: r.height, shapes: shapes});
  });
  return out;
})()`

// TestBrowserReportMatchesShow rehearses examples/follow-ups, writes its
// HTML report, opens it in a real headless Chromium and checks that the
// rendered page shows, per message and in the same order, exactly the
// numbers of show -json, and that every chart is an SVG with something
// drawn in it.
func TestBrowserReportMatchesShow(t *testing.T) {
	browser := chromium(t)
	dir := copyExample(t, "follow-ups")
	w := &world{t: t, dir: dir}
	w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	var shown report.Report
	if err := json.Unmarshal([]byte(w.mustRun(exitOK, "show", "-sandbox", "-json")), &shown); err != nil {
		t.Fatal(err)
	}
	w.mustRun(exitOK, "report", "-sandbox", "-html=report.html")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1100, 900))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	url := "file://" + filepath.Join(dir, "report.html")
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in %s: %v", url, browser, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitReady("body")); err != nil {
		t.Fatalf("render %s in %s: %v", url, browser, err)
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[renderedPage](readPage))
	if err != nil {
		t.Fatalf("read the page in %s: %v", browser, err)
	}

	var addresses []string
	for _, c := range shown.Campaigns {
		for _, m := range c.Messages {
			addresses = append(addresses, m.Address)
			want := shownFields(m)
			got := page.Fields[m.Address]
			for field, n := range want {
				text, ok := got[field]
				if !ok && n == 0 {
					continue // the page leaves out what did not happen
				}
				if text != strconv.Itoa(n) {
					t.Errorf("%s: the page shows %s = %q, show -json %d", m.Address, field, text, n)
				}
			}
			for field, text := range got {
				if _, ok := want[field]; !ok {
					t.Errorf("%s: the page shows %s = %q, which show -json has not", m.Address, field, text)
				}
			}
		}
	}
	if !slices.Equal(page.Addresses, addresses) {
		t.Errorf("the page shows the messages %v, show -json %v", page.Addresses, addresses)
	}
	if got := page.Top["opt_outs"]; got != strconv.Itoa(shown.OptOuts) {
		t.Errorf("the page shows %q opted out, show -json %d", got, shown.OptOuts)
	}
	kinds := map[string]int{}
	for i, c := range page.Charts {
		kinds[c.Chart]++
		if c.Width <= 0 || c.Height <= 0 || c.Shapes == 0 {
			t.Errorf("chart %d (%s) is empty: %+v", i, c.Chart, c)
		}
	}
	if kinds["timeline"] != len(shown.Campaigns) || kinds["funnel"] != len(addresses) || kinds["answers"] == 0 {
		t.Errorf("charts by kind %v: want a timeline per campaign, a funnel per message and answers", kinds)
	}
	sent := 0
	for _, f := range page.Fields {
		n, _ := strconv.Atoi(f["sent"])
		sent += n
	}
	if sent == 0 {
		t.Error("the page shows nothing sent: the rehearsal did not run")
	}
	t.Logf("%d messages, %d charts, %d sends checked in %s", len(addresses), len(page.Charts), sent, browser)
}

// shownFields are the numbers of m as the page's data-field names them.
func shownFields(m *report.Message) map[string]int {
	f := map[string]int{
		"recipients": m.Recipients, "sent": m.Sent, "delivered": m.Delivered, "read": m.Read, "replied": m.Replied,
		"text_replies": m.TextReplies, "opt_outs": m.OptOuts, "failed": m.Failed, "expired": m.Expired,
		"not_taken": m.NotTaken, "after_not_sent": m.AfterLost, "suppressed": m.Suppressed, "scheduled": m.Scheduled, "retry": m.Retry,
		"unknown": m.Unknown, "orphaned": m.Orphaned,
	}
	for _, a := range m.Answers {
		f["answer:"+a.ID] = a.Count
	}
	for _, t := range m.Failures {
		f["failure:"+t.Name] = t.Count
	}
	for _, t := range m.SuppressedBy {
		f["suppressed:"+t.Name] = t.Count
	}
	return f
}
