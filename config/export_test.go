package config

import "github.com/hashicorp/hcl/v2"

// RenderEvaluated is Render with every expression evaluated in a scope,
// never from their compiled forms: what fastRender must equal.
func (m *Message) RenderEvaluated(r *Recipient, reply *Reply, variant string) (*Payload, hcl.Diagnostics) {
	return m.render(r, reply, variant, false)
}
