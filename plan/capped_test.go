package plan

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// TestRenderProblemsCapped: content that fails for 5,000 recipients gives
// config.MaxListed diagnostics and one that counts the others, whatever the
// number of CPUs the recipients are spread over.
func TestRenderProblemsCapped(t *testing.T) {
	const rows = 5000
	var csv strings.Builder
	csv.WriteString("id,phone,n\n")
	for i := range rows {
		fmt.Fprintf(&csv, "K%d,2557%08d,x\n", i, 12000000+i)
	}
	cfg := loadFiles(t, map[string]string{
		"r.csv": csv.String(),
		"main.hcl": `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
  key   = row.id
}
campaign "c" {
  recipients = recipients.r
  message "m" {
    template  = "t"
    variables = { "1" = tostring(tonumber(row.n)) }
  }
}
`,
	}, config.LoadOptions{})
	st, _, err := state.Read(filepath.Join(t.TempDir(), "ujumbe.state"))
	if err != nil {
		t.Fatal(err)
	}
	_, diags := Build(cfg, st, now, Options{})
	got := map[string]int{}
	var more []string
	for _, d := range diags {
		got[d.Summary]++
		if d.Summary == "More recipients with problems" {
			more = append(more, d.Detail)
		}
	}
	if diff := cmp.Diff(map[string]int{"Invalid function argument": config.MaxListed, "More recipients with problems": 1}, got); diff != "" {
		t.Errorf("diagnostics by summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("campaign.c.message.m fails for %d more recipients besides the 10 shown.", rows-config.MaxListed)}, more); diff != "" {
		t.Errorf("the count (-want +got):\n%s", diff)
	}
}
