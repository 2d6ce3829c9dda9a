package report

import (
	"bytes"
	"regexp"
	"testing"
)

// TestHTMLGolden: the page of the fixture (fixed clock and lineage), as a
// golden file (testdata/report.html; -update rewrites it).
func TestHTMLGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, fixtureReport(t), HTMLOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.html", b.Bytes())
}

// TestHTMLSelfContained: nothing in the page is fetched or run: no
// script, no link, no URL, no image or font loaded from anywhere.
func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, fixtureReport(t), HTMLOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`(?i)<script`, `(?i)<link`, `(?i)<img`, `(?i)<iframe`, `(?i)\bsrc=`, `(?i)\bhref=`, `(?i)url\(`, `(?i)@import`, `(?i)@font-face`, `(?i)https?:`} {
		if loc := regexp.MustCompile(bad).FindIndex(b.Bytes()); loc != nil {
			t.Errorf("the page has %s: %q", bad, b.Bytes()[max(loc[0]-40, 0):min(loc[1]+40, b.Len())])
		}
	}
}
