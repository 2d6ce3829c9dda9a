package command

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
)

// checkTemplates checks every template message of cfg against the
// workspace's templates, as Terraform refreshes a data source: the template
// must exist, be approved, and take as many parameters as the message's
// variables give. Problems are errors at the message, found before anything
// is sent. When the templates cannot be listed, a warning says they were
// not checked.
func checkTemplates(ctx context.Context, client *briq.Client, cfg *config.Config) hcl.Diagnostics {
	var templates []briq.Template
	for t, err := range client.AllTemplates(ctx, briq.TemplateQuery{}) {
		if err != nil {
			return hcl.Diagnostics{sourceless(hcl.DiagWarning, "Templates not checked",
				fmt.Sprintf("Listing the workspace's templates failed (%v), so ujumbe could not check that each template exists, is approved and takes the parameters given. A send with a wrong template stops apply at once.", err))}
		}
		if !t.IsDeleted {
			templates = append(templates, t)
		}
	}
	var diags hcl.Diagnostics
	for _, c := range cfg.Campaigns {
		for _, m := range c.Messages {
			if m.Kind != config.KindTemplate {
				continue
			}
			if d := checkTemplate(m, templates); d != nil {
				diags = append(diags, d)
			}
		}
	}
	return diags
}

// checkTemplate checks one template message, or returns nil.
func checkTemplate(m *config.Message, templates []briq.Template) *hcl.Diagnostic {
	name := m.Template()
	diag := func(summary, detail string) *hcl.Diagnostic {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: m.DeclRange.Ptr()}
	}
	i := slices.IndexFunc(templates, func(t briq.Template) bool { return t.Name == name })
	if i < 0 {
		detail := fmt.Sprintf("Message %q sends template %q, which the workspace does not have.", m.Name, name)
		if near := nearestTemplate(name, templates); near != "" {
			detail += fmt.Sprintf(" Did you mean %q?", near)
		}
		return diag("Template not found", detail)
	}
	t := templates[i]
	if t.Status != briq.TemplateApproved {
		return diag("Template not approved", fmt.Sprintf("Message %q sends template %q, whose status is %s; only APPROVED templates can be sent. Wait for WhatsApp's review, or use another template.", m.Name, name, t.Status))
	}
	rs := m.Campaign.Recipients.Recipients
	if len(rs) == 0 {
		return nil
	}
	// The variables are the same object for every recipient; the first
	// shows how many there are.
	p, d := m.Render(rs[0], nil)
	if d.HasErrors() || len(p.Variables) == len(t.Params) {
		return nil
	}
	given := make([]string, 0, len(p.Variables))
	for k := range p.Variables {
		given = append(given, k)
	}
	slices.Sort(given)
	return diag("Wrong number of template parameters", fmt.Sprintf(
		"Template %q takes %d parameters (%s); message %q gives %d (%s). Briq refuses such a send (400, parameter count mismatch).",
		name, len(t.Params), strings.Join(t.Params, ", "), m.Name, len(given), strings.Join(given, ", ")))
}

// nearestTemplate returns the template name closest to name, if any is
// close enough to be a typo.
func nearestTemplate(name string, templates []briq.Template) string {
	best, bestDist := "", 3
	for _, t := range templates {
		if d := levenshtein.Distance(name, t.Name, nil); d < bestDist {
			best, bestDist = t.Name, d
		}
	}
	return best
}
