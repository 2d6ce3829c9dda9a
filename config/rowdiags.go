package config

import "github.com/hashicorp/hcl/v2"

// MaxListed is how many rows (or recipients) with the same kind of problem
// are reported one by one; the rest are counted in one diagnostic. Every
// per-row problem goes through this cap (RowDiags): CSV, phone, key, where
// and duplicate problems while loading, content problems in Check and in
// plan.Build.
const MaxListed = 10

// RowDiags collects the diagnostics of one kind of problem over many rows:
// those of the first MaxListed rows with problems, and a count of all.
// Rows are added in order; a RowDiags per goroutine, merged in order, gives
// the same result.
type RowDiags struct {
	listed []hcl.Diagnostics // one entry per row
	count  int
}

// Add records the diagnostics of one row; a row without any is no problem.
func (p *RowDiags) Add(d hcl.Diagnostics) {
	if len(d) == 0 {
		return
	}
	p.count++
	if len(p.listed) < MaxListed {
		p.listed = append(p.listed, d)
	}
}

// Merge adds q's rows, which come after p's.
func (p *RowDiags) Merge(q *RowDiags) {
	if room := MaxListed - len(p.listed); room > 0 {
		p.listed = append(p.listed, q.listed[:min(room, len(q.listed))]...)
	}
	p.count += q.count
}

// Diagnostics returns the listed rows' diagnostics, followed by more(n)
// when n more rows had problems.
func (p *RowDiags) Diagnostics(more func(n int) *hcl.Diagnostic) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, row := range p.listed {
		diags = append(diags, row...)
	}
	if n := p.count - len(p.listed); n > 0 {
		diags = append(diags, more(n))
	}
	return diags
}

// ForRecipients returns Diagnostics for problems of what (a message's
// address, a send_window) with recipients, the others counted at subject.
func (p *RowDiags) ForRecipients(subject hcl.Range, what string) hcl.Diagnostics {
	return p.Diagnostics(func(n int) *hcl.Diagnostic {
		return errorf(subject, "More recipients with problems",
			"%s fails for %d more recipients besides the %d shown.", what, n, MaxListed)
	})
}
