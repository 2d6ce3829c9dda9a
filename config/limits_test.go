package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestInteractiveLimits checks each of WhatsApp's interactive limits just
// inside and just outside its bound.
func TestInteractiveLimits(t *testing.T) {
	// button builds a reply-buttons object from HCL snippets.
	button := func(body, buttons, extra string) string {
		return fmt.Sprintf(`{ type = "button", body = { text = %s }, action = { buttons = [%s] } %s }`, body, buttons, extra)
	}
	reply := func(id, title string) string {
		return fmt.Sprintf(`{ type = "reply", reply = { id = %q, title = %q } },`, id, title)
	}
	list := func(body, button, sections, extra string) string {
		return fmt.Sprintf(`{ type = "list", body = { text = %s }, action = { button = %q, sections = [%s] } %s }`, body, button, sections, extra)
	}
	rows := func(prefix string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{ id = "%s%d", title = "Row %d" },`, prefix, i, i)
		}
		return b.String()
	}
	section := func(title, rows string) string {
		if title == "" {
			return fmt.Sprintf(`{ rows = [%s] },`, rows)
		}
		return fmt.Sprintf(`{ title = %q, rows = [%s] },`, title, rows)
	}
	sections := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(section(fmt.Sprintf("S%d", i), rows(fmt.Sprintf("s%d-", i), 1)))
		}
		return b.String()
	}
	x := strings.Repeat
	type problem struct{ Path, Summary string }

	tests := []struct {
		name string
		hcl  string
		want []problem
	}{
		{"one button", button(`"Hi"`, reply("a", "A"), ""), nil},
		{"three buttons", button(`"Hi"`, reply("a", "A")+reply("b", "B")+reply("c", "C"), ""), nil},
		{"no buttons", button(`"Hi"`, "", ""), []problem{{"action.buttons", "Wrong number of buttons"}}},
		{"four buttons", button(`"Hi"`, reply("a", "A")+reply("b", "B")+reply("c", "C")+reply("d", "D"), ""),
			[]problem{{"action.buttons", "Wrong number of buttons"}}},
		{"title of 20", button(`"Hi"`, reply("a", x("t", 20)), ""), nil},
		{"title of 20 emoji", button(`"Hi"`, reply("a", x("🎉", 20)), ""), nil},
		{"title of 21", button(`"Hi"`, reply("a", x("t", 21)), ""), []problem{{"action.buttons[0].reply.title", "Text too long"}}},
		{"empty title", button(`"Hi"`, reply("a", ""), ""), []problem{{"action.buttons[0].reply.title", "Empty action.buttons[0].reply.title"}}},
		{"id of 256", button(`"Hi"`, reply(x("i", 256), "A"), ""), nil},
		{"id of 257", button(`"Hi"`, reply(x("i", 257), "A"), ""), []problem{{"action.buttons[0].reply.id", "Text too long"}}},
		{"duplicate id", button(`"Hi"`, reply("a", "A")+reply("a", "B"), ""), []problem{{"action.buttons[1].reply.id", "Duplicate id"}}},
		{"duplicate title", button(`"Hi"`, reply("a", "A")+reply("b", "A"), ""), []problem{{"action.buttons[1].reply.title", "Duplicate title"}}},
		{"wrong button type", button(`"Hi"`, `{ type = "url", reply = { id = "a", title = "A" } }`, ""), []problem{{"action.buttons[0].type", "Unsupported button type"}}},
		{"button body of 1024", button(fmt.Sprintf("%q", x("b", 1024)), reply("a", "A"), ""), nil},
		{"button body of 1025", button(fmt.Sprintf("%q", x("b", 1025)), reply("a", "A"), ""), []problem{{"body.text", "Text too long"}}},
		{"no body", `{ type = "button", action = { buttons = [{ type = "reply", reply = { id = "a", title = "A" } }] } }`,
			[]problem{{"body", "Missing body.text"}}},
		{"header and footer of 60", button(`"Hi"`, reply("a", "A"), fmt.Sprintf(`, header = { type = "text", text = %q }, footer = { text = %q }`, x("h", 60), x("f", 60))), nil},
		{"header and footer of 61", button(`"Hi"`, reply("a", "A"), fmt.Sprintf(`, header = { type = "text", text = %q }, footer = { text = %q }`, x("h", 61), x("f", 61))),
			[]problem{{"header.text", "Text too long"}, {"footer.text", "Text too long"}}},
		{"image header", button(`"Hi"`, reply("a", "A"), `, header = { type = "image", image = { link = "https://example.com/a.png" } }`), nil},

		{"list of 10 rows", list(`"Menu"`, "Open", section("A", rows("a", 5))+section("B", rows("b", 5)), ""), nil},
		{"list of 11 rows", list(`"Menu"`, "Open", section("A", rows("a", 5))+section("B", rows("b", 6)), ""), []problem{{"action.sections", "Too many rows"}}},
		{"list of 11 sections", list(`"Menu"`, "Open", sections(11), ""),
			[]problem{{"action.sections", "Wrong number of sections"}, {"action.sections", "Too many rows"}}},
		{"no sections", list(`"Menu"`, "Open", "", ""), []problem{{"action.sections", "Wrong number of sections"}}},
		{"one section without title", list(`"Menu"`, "Open", section("", rows("a", 2)), ""), nil},
		{"two sections without titles", list(`"Menu"`, "Open", section("", rows("a", 1))+section("", rows("b", 1)), ""),
			[]problem{{"action.sections[0]", "Missing action.sections[0].title"}, {"action.sections[1]", "Missing action.sections[1].title"}}},
		{"section title of 24 and 25", list(`"Menu"`, "Open", section(x("s", 24), rows("a", 1))+section(x("s", 25), rows("b", 1)), ""),
			[]problem{{"action.sections[1].title", "Text too long"}}},
		{"empty section", list(`"Menu"`, "Open", section("A", ""), ""), []problem{{"action.sections[0].rows", "Empty section"}}},
		{"row limits inside", list(`"Menu"`, "Open", section("A", fmt.Sprintf(`{ id = %q, title = %q, description = %q }`, x("i", 200), x("t", 24), x("d", 72))), ""), nil},
		{"row limits outside", list(`"Menu"`, "Open", section("A", fmt.Sprintf(`{ id = %q, title = %q, description = %q }`, x("i", 201), x("t", 25), x("d", 73))), ""),
			[]problem{{"action.sections[0].rows[0].id", "Text too long"}, {"action.sections[0].rows[0].title", "Text too long"}, {"action.sections[0].rows[0].description", "Text too long"}}},
		{"duplicate row ids across sections", list(`"Menu"`, "Open", section("A", rows("a", 1))+section("B", rows("a", 1)), ""),
			[]problem{{"action.sections[1].rows[0].id", "Duplicate id"}}},
		{"list button of 20 and body of 4096", list(fmt.Sprintf("%q", x("b", 4096)), x("o", 20), section("A", rows("a", 1)), ""), nil},
		{"list button of 21 and body of 4097", list(fmt.Sprintf("%q", x("b", 4097)), x("o", 21), section("A", rows("a", 1)), ""),
			[]problem{{"body.text", "Text too long"}, {"action.button", "Text too long"}}},
		{"list with image header", list(`"Menu"`, "Open", section("A", rows("a", 1)), `, header = { type = "image" }`),
			[]problem{{"header.type", "Unsupported header"}}},

		{"not an object", `"buttons"`, []problem{{"interactive", "Incorrect value type"}}},
		{"no type", `{ body = { text = "x" } }`, []problem{{"interactive", "Missing type"}}},
		{"unknown type", `{ type = "carousel" }`, []problem{{"type", "Unsupported interactive type"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := hclValue(t, tt.hcl)
			var got []problem
			for _, p := range checkInteractive(v) {
				got = append(got, problem{pathString(p.path), p.summary})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("wrong problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInteractiveLimitsUnknown checks that unknown parts, as in the load-time
// check where row and reply are unknown, are skipped rather than reported.
func TestInteractiveLimitsUnknown(t *testing.T) {
	for name, v := range map[string]cty.Value{
		"whole":   cty.DynamicVal,
		"type":    cty.ObjectVal(map[string]cty.Value{"type": cty.UnknownVal(cty.String)}),
		"buttons": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("button"), "body": cty.ObjectVal(map[string]cty.Value{"text": cty.UnknownVal(cty.String)}), "action": cty.ObjectVal(map[string]cty.Value{"buttons": cty.UnknownVal(cty.List(cty.DynamicPseudoType))})}),
		"title": hclValueWith(t, `{ type = "button", body = { text = "x" }, action = { buttons = [{ type = "reply", reply = { id = "a", title = row.t } }] } }`,
			map[string]cty.Value{"row": cty.UnknownVal(cty.Map(cty.String))}),
	} {
		t.Run(name, func(t *testing.T) {
			if probs := checkInteractive(v); len(probs) > 0 {
				t.Errorf("unexpected problems: %+v", probs)
			}
		})
	}
}

func hclValue(t *testing.T, src string) cty.Value {
	return hclValueWith(t, src, nil)
}

func hclValueWith(t *testing.T, src string, vars map[string]cty.Value) cty.Value {
	t.Helper()
	e, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := e.Value(&hcl.EvalContext{Variables: vars})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return v
}
