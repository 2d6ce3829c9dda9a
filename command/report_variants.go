package command

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ujumbe/ujumbe/report"
)

// variantsFile is report -variants: per message split by variant, one CSV
// row per variant and one for the holdout, with the funnel of each, then
// one row comparing the reply rates of two variants.
var variantsFile = reportFile{
	what:  "the variants report",
	write: writeVariantsCSV,
	wrote: func(r *report.Report, out string) string {
		return fmt.Sprintf("%s to %s", plural(variantRows(r), "row"), out)
	},
}

var variantsHeader = []string{"campaign", "message", "group", "recipients", "sent", "delivered", "read", "replied",
	"reply_rate", "answers", "difference", "ci_low", "ci_high"}

// variantRows counts the rows writeVariantsCSV writes, without the header.
func variantRows(r *report.Report) int {
	n := 0
	for _, camp := range r.Campaigns {
		for _, m := range camp.Messages {
			n += len(m.Variants)
			if m.Holdout > 0 {
				n++
			}
			if m.Comparison != nil {
				n++
			}
		}
	}
	return n
}

func writeVariantsCSV(w io.Writer, r *report.Report) error {
	cw := csv.NewWriter(w)
	cw.Write(variantsHeader)
	num := strconv.Itoa
	rate := func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
	for _, camp := range r.Campaigns {
		for _, m := range camp.Messages {
			for _, v := range m.Variants {
				var answers []string
				for _, a := range v.Answers {
					answers = append(answers, fmt.Sprintf("%s=%d", a.ID, a.Count))
				}
				if v.TextReplies > 0 {
					answers = append(answers, fmt.Sprintf("(text)=%d", v.TextReplies))
				}
				cw.Write([]string{camp.Name, m.Name, v.Name, num(v.Recipients), num(v.Sent), num(v.Delivered), num(v.Read),
					num(v.Replied), rate(v.ReplyRate), defuse(strings.Join(answers, ";")), "", "", ""})
			}
			if m.Holdout > 0 {
				cw.Write([]string{camp.Name, m.Name, "holdout", num(m.Holdout), "0", "", "", "", "", "", "", "", ""})
			}
			if c := m.Comparison; c != nil {
				cw.Write([]string{camp.Name, m.Name, c.A + " - " + c.B, "", "", "", "", "", "", "",
					rate(c.Difference), rate(c.Low), rate(c.High)})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
