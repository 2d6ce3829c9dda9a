package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

const (
	cappedRecipients = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
`
	cappedSuppress = `
suppress "s" {
  csv   = "s.csv"
  phone = row.phone
}
`
	cappedCampaign = `
campaign "c" {
  recipients = recipients.r
  message "m" {
    template  = "t"
    variables = { "1" = tostring(tonumber(row.n)) }
  }
}
`
)

// summaries counts diags by summary, and returns the details of those whose
// summary starts with "More".
func summaries(diags hcl.Diagnostics) (map[string]int, []string) {
	n := map[string]int{}
	var more []string
	for _, d := range diags {
		n[d.Summary]++
		if strings.HasPrefix(d.Summary, "More") {
			more = append(more, d.Detail)
		}
	}
	return n, more
}

// TestRowProblemsCapped: 5,000 rows with the same problem are reported as
// MaxListed diagnostics and one that counts the others, for every kind of
// per-row problem: duplicate keys and phones, invalid phones, in recipients
// and suppress lists, and content that fails for each recipient.
func TestRowProblemsCapped(t *testing.T) {
	const rows = 5000
	var r, s strings.Builder
	r.WriteString("id,phone,n\n")
	s.WriteString("phone\n")
	for range rows {
		r.WriteString("A,255712345678,x\n")
		s.WriteString("255712345678\nbad\n") // duplicates are no problem in a suppress list
	}
	dir := writeDir(t, map[string]string{
		"main.hcl": cappedRecipients + cappedSuppress + cappedCampaign,
		"r.csv":    r.String(),
		"s.csv":    s.String(),
	})
	_, diags := Load(dir, LoadOptions{})
	got, more := summaries(diags)
	want := map[string]int{
		"Duplicate recipient key":            MaxListed,
		"Duplicate phone number":             MaxListed,
		"Invalid phone number":               MaxListed,
		"More problems in " + dir + "/r.csv": 2,
		"More problems in " + dir + "/s.csv": 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load's diagnostics by summary (-want +got):\n%s", diff)
	}
	wantMore := []string{
		fmt.Sprintf("%s/r.csv has %d more duplicate phone numbers besides the 10 shown.", dir, rows-1-MaxListed),
		fmt.Sprintf("%s/r.csv has %d more duplicate keys besides the 10 shown.", dir, rows-1-MaxListed),
		fmt.Sprintf("%s/s.csv has %d more invalid phone numbers besides the 10 shown.", dir, rows-MaxListed),
	}
	if diff := cmp.Diff(wantMore, more); diff != "" {
		t.Errorf("the counts (-want +got):\n%s", diff)
	}

	// Content that fails for every recipient is capped the same way.
	var distinct strings.Builder
	distinct.WriteString("id,phone,n\n")
	for i := range rows {
		fmt.Fprintf(&distinct, "K%d,2557%08d,x\n", i, 12000000+i)
	}
	dir = writeDir(t, map[string]string{"main.hcl": cappedRecipients + cappedCampaign, "r.csv": distinct.String()})
	cfg, diags := Load(dir, LoadOptions{})
	if len(diags) > 0 {
		t.Fatalf("Load:\n%s", diagText(cfg.Files, diags))
	}
	got, more = summaries(cfg.Check())
	if diff := cmp.Diff(map[string]int{"Invalid function argument": MaxListed, "More recipients with problems": 1}, got); diff != "" {
		t.Errorf("Check's diagnostics by summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("campaign.c.message.m fails for %d more recipients besides the 10 shown.", rows-MaxListed)}, more); diff != "" {
		t.Errorf("Check's count (-want +got):\n%s", diff)
	}
}
