package command

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/config"
)

// checkTemplates checks every template message of cfg against the
// workspace's templates, as Terraform refreshes a data source: the template
// must exist, be approved, and take the parameters the message's variables
// give, by name or by position. Problems are errors at the message, found before anything
// is sent. When the templates cannot be listed, a warning says they were
// not checked.
func checkTemplates(ctx context.Context, client *briq.Client, cfg *config.Config, note string) hcl.Diagnostics {
	var templates []briq.Template
	for t, err := range client.AllTemplates(ctx, briq.TemplateQuery{}) {
		if err != nil && briq.ClassOf(err) == briq.Fatal {
			// 401 or 403: every send would be refused the same way, and
			// each would be an attempt recorded for nothing.
			return hcl.Diagnostics{sourceless(hcl.DiagError, "Briq refused the account",
				fmt.Sprintf("Listing the workspace's templates failed (%v): every send would be refused the same way, so nothing is sent. Check the API key (BRIQ_API_KEY or the provider's api_key) and the workspace it belongs to.", err))}
		}
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
			if len(m.Variants) == 0 {
				if d := checkTemplate(m, m.Template(), "", templates, note); d != nil {
					diags = append(diags, d)
				}
			}
			for _, v := range m.Variants {
				if d := checkTemplate(m, v.Template(), v.Name, templates, note); d != nil {
					diags = append(diags, d)
				}
			}
		}
	}
	return diags
}

// checkTemplate checks one template message, or the variant of it that
// sends template name, or returns nil. note ends the detail of a template
// the workspace does not have (where a rehearsal's come from). A send names
// a template by name only; when several share it (languages, owning
// senders), Briq may send any of them, so each must pass.
func checkTemplate(m *config.Message, name, variant string, templates []briq.Template, note string) *hcl.Diagnostic {
	diag := func(summary, detail string) *hcl.Diagnostic {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: m.DeclRange.Ptr()}
	}
	var same []briq.Template
	for _, t := range templates {
		if t.Name == name {
			same = append(same, t)
		}
	}
	if len(same) == 0 {
		detail := fmt.Sprintf("Message %q sends template %q, which the workspace does not have.", m.Name, name)
		names := make([]string, len(templates))
		for i, t := range templates {
			names[i] = t.Name
		}
		if near := config.Nearest(name, names); near != "" {
			detail += fmt.Sprintf(" Did you mean %q?", near)
		}
		if note != "" {
			detail += " " + note
		}
		return diag("Template not found", detail)
	}
	vars, rendered := variablesOf(m, variant)
	for _, t := range same {
		summary, detail := "", ""
		switch {
		case t.Status != briq.TemplateApproved:
			next := "Wait for WhatsApp's review, or use another template."
			if !strings.EqualFold(t.Status, "PENDING") && !strings.EqualFold(t.Status, "IN_APPEAL") {
				// REJECTED, PAUSED, DISABLED: no review is coming.
				next = "Fix it and submit it again in Briq, or use another template."
			}
			summary, detail = "Template not approved", fmt.Sprintf(", whose status is %s; only APPROVED templates can be sent. %s", t.Status, next)
		case rendered:
			summary, detail = compareParams(t, vars)
			detail = ": " + detail
		}
		switch {
		case summary == "":
		case len(same) == 1:
			return diag(summary, fmt.Sprintf("Message %q sends template %q%s", m.Name, name, detail))
		default:
			return diag(summary, fmt.Sprintf("Message %q sends template %q, which names %d templates of the workspace (%s); a send names no language or owner, so Briq may send any of them, and the one in %s fails%s Remove or rename the others, or send another template.",
				m.Name, name, len(same), templateList(same), templateLabel(t), detail))
		}
	}
	return nil
}

// variablesOf returns the variables a template message (or its variant)
// gives, and whether a recipient's content rendered to show them. Their
// keys are the same for every recipient; the first whose content renders
// shows them (a recipient with a bad value is reported by the plan itself).
func variablesOf(m *config.Message, variant string) (map[string]string, bool) {
	rs := m.Campaign.Recipients.Recipients
	for _, r := range rs[:min(len(rs), maxRenderTries)] {
		if out, d := m.Render(r, nil, variant); !d.HasErrors() {
			return out.Variables, true
		}
	}
	return nil, false
}

// templateLabel names a template among others of its name: its language
// and owning sender, as far as Briq says.
func templateLabel(t briq.Template) string {
	return fmt.Sprintf("language %s, sender %s", cmp.Or(t.Language, "not given"), cmp.Or(t.WhatsAppSenderNumberID, "not given"))
}

// templateList names each of ts by templateLabel, in order.
func templateList(ts []briq.Template) string {
	labels := make([]string, len(ts))
	for i, t := range ts {
		labels[i] = templateLabel(t)
	}
	slices.Sort(labels)
	return strings.Join(labels, "; ")
}

// maxRenderTries bounds the recipients checkTemplate renders to find one
// whose content renders.
const maxRenderTries = 100

// compareParams compares the keys of a message's variables with the
// template's parameters: by name for a NAMED template, by position for a
// POSITIONAL one (whose params are "1", "2", …). It returns a summary and
// a detail when they differ, or "" when they match.
func compareParams(t briq.Template, vars map[string]string) (summary, detail string) {
	want := make(map[string]bool, len(t.Params))
	for _, p := range t.Params {
		want[p] = true
	}
	var missing, unknown []string
	for _, p := range t.Params {
		if _, ok := vars[p]; !ok {
			missing = append(missing, p)
		}
	}
	for k := range vars {
		if !want[k] {
			unknown = append(unknown, k)
		}
	}
	if len(missing) == 0 && len(unknown) == 0 {
		return "", ""
	}
	slices.Sort(unknown)
	given := slices.Sorted(maps.Keys(vars))
	positional := parameterFormat(t) == "POSITIONAL"
	var b strings.Builder
	if positional {
		fmt.Fprintf(&b, "it takes %s (%s), written as variables = { %s }; the message gives %s.",
			plural(len(t.Params), "positional parameter"), placeholders(t.Params), example(t.Params), keyList(given))
	} else {
		fmt.Fprintf(&b, "it takes %s (%s); the message gives %s.", plural(len(t.Params), "named parameter"), placeholders(t.Params), keyList(given))
	}
	what := map[bool]string{true: "position", false: "parameter"}[positional]
	if len(missing) > 0 {
		fmt.Fprintf(&b, " Missing: %s.", strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		fmt.Fprintf(&b, " Not a %s of the template: %s.", what, strings.Join(unknown, ", "))
		if len(unknown) == 1 && len(missing) == 1 && !positional {
			fmt.Fprintf(&b, " Did you mean %q?", missing[0])
		}
	}
	b.WriteString(" Briq refuses such a send (400).")
	if len(vars) != len(t.Params) {
		return "Wrong number of template parameters", b.String()
	}
	return "Wrong template parameters", b.String()
}

// parameterFormat is the template's parameter_format, or, when Briq does
// not say, POSITIONAL for params that are all numbers and NAMED otherwise.
func parameterFormat(t briq.Template) string {
	if f := strings.ToUpper(t.ParameterFormat); f == "NAMED" || f == "POSITIONAL" {
		return f
	}
	for _, p := range t.Params {
		if _, err := strconv.Atoi(p); err != nil {
			return "NAMED"
		}
	}
	return "POSITIONAL"
}

// placeholders writes params as the template's body shows them: {{1}}, {{2}}.
func placeholders(params []string) string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = "{{" + p + "}}"
	}
	return strings.Join(out, ", ")
}

// example writes the variables object that fills params.
func example(params []string) string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = fmt.Sprintf("%q = ...", p)
	}
	return strings.Join(out, ", ")
}

// keyList names the variables a message gives.
func keyList(keys []string) string {
	if len(keys) == 0 {
		return "no variables"
	}
	return fmt.Sprintf("%s (%s)", plural(len(keys), "variable"), strings.Join(keys, ", "))
}
