package sandbox

import (
	"encoding/json"
	"time"
)

// An option is one answer a recipient can pick from an interactive message.
type option struct {
	kind        string // "button_reply" or "list_reply"
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// interactiveOptions lists the reply buttons or list rows of a WhatsApp
// interactive object. Other interactive types (cta_url, flow, product…)
// offer nothing to pick, so they are never answered.
func interactiveOptions(obj []byte) []option {
	var in struct {
		Type   string `json:"type"`
		Action struct {
			Buttons []struct {
				Reply option `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Rows []option `json:"rows"`
			} `json:"sections"`
		} `json:"action"`
	}
	if json.Unmarshal(obj, &in) != nil {
		return nil
	}
	var opts []option
	switch in.Type {
	case "button":
		for _, b := range in.Action.Buttons {
			b.Reply.kind = "button_reply"
			opts = append(opts, b.Reply)
		}
	case "list":
		for _, s := range in.Action.Sections {
			for _, r := range s.Rows {
				r.kind = "list_reply"
				opts = append(opts, r)
			}
		}
	}
	return opts
}

// answer returns the simulated answer of the recipient of out, or nil. The
// answer depends only on the seed, the recipient and the message content:
// whether this recipient ever answers (Silent), which option (Answers
// weights) or "STOP" to a template (OptOut), and after how long (ReplyDelay).
// The answer's id is left for the caller.
func (cfg *settings) answer(out *message) *message {
	if unit(cfg.Seed, drawSilent, 0, out.To) < cfg.silent {
		return nil
	}
	var content any
	kind := "interactive"
	switch out.Kind {
	case "interactive":
		opt, ok := cfg.choose(interactiveOptions(out.Content), out)
		if !ok {
			return nil
		}
		// WhatsApp Cloud API's inbound interactive shape.
		content = map[string]any{"type": opt.kind, opt.kind: opt}
	case "template":
		if unit(cfg.Seed, drawOptOut, 0, out.To) >= cfg.OptOut {
			return nil
		}
		kind, content = "text", map[string]string{"body": "STOP"}
	default:
		return nil
	}
	if cfg.WholeReplies {
		content = map[string]any{"type": kind, kind: content}
	}
	raw, err := json.Marshal(content)
	if err != nil {
		panic(err) // maps of strings and options always marshal
	}
	paired := out.ID
	if cfg.UnpairedReplies {
		paired = ""
	}
	span := cfg.ReplyDelay.Max - cfg.ReplyDelay.Min
	// Whole seconds past Min, so times read cleanly and stay within Max.
	extra := time.Duration(unit(cfg.Seed, drawDelay, 0, out.To, out.Digest) * float64(span+1)).Truncate(time.Second)
	return &message{
		Conv:    out.Conv,
		Sender:  out.Sender,
		To:      out.To,
		Kind:    kind,
		Content: raw,
		At:      out.At.Add(cfg.ReplyDelay.Min + extra),
		Paired:  paired,
	}
}

// choose picks one of opts by the Answers weights, deterministically for
// the recipient and content of out.
func (cfg *settings) choose(opts []option, out *message) (option, bool) {
	weight := func(o option) float64 {
		if len(cfg.Answers) == 0 {
			return 1
		}
		return cfg.Answers[o.ID]
	}
	total := 0.0
	for _, o := range opts {
		total += weight(o)
	}
	if total <= 0 {
		return option{}, false
	}
	x := unit(cfg.Seed, drawChoice, 0, out.To, out.Digest) * total
	for _, o := range opts {
		if x < weight(o) {
			return o, true
		}
		x -= weight(o)
	}
	// Rounding can leave x just above the last weight; the last option with
	// weight is the one x fell into.
	for i := len(opts) - 1; i >= 0; i-- {
		if weight(opts[i]) > 0 {
			return opts[i], true
		}
	}
	return option{}, false
}
