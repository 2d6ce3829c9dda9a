package config

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/hcl/v2"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// inputsVersion names how content is made from its inputs. Change it when
// rendering changes (a function, a check), so that fingerprints recorded
// before no longer vouch for content made now; a change of the canonical
// encoding changes digestVersion, which the fingerprints include too.
const inputsVersion = "ujumbe content inputs 1"

// InputSum returns a fingerprint of everything the content of m for r
// under variant is made from: how the content is written (its expressions'
// source), the values of the variables and locals it reads, the CSV's
// column names, and r's row. Equal fingerprints mean equal content, so a
// plan that finds a send's recorded fingerprint again knows its content
// unchanged without making it, which costs several times as much; a
// different fingerprint tells nothing (a comment added in an expression
// changes it), and the caller compares content.
//
// ok is false for content that is made from more than those inputs or that
// is not made the fast way (see ContentSum): media, content that reads
// reply, recipient or variant, and shapes fastexpr.go does not compile.
func (m *Message) InputSum(r *Recipient, variant string) (sum uint64, ok bool) {
	c, _ := m.contentFor(variant)
	if c == nil || c.inputs == 0 || r.row.ends == nil {
		return 0, false
	}
	var buf [128]byte
	b := binary.LittleEndian.AppendUint32(buf[:0], uint32(len(r.row.ends)))
	for _, e := range r.row.ends {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	var d xxhash.Digest
	d.ResetWithSeed(c.inputs)
	d.Write(b)
	d.WriteString(r.row.data)
	return max(d.Sum64(), 1), true // 0 is no fingerprint
}

// inputsOf returns the seed of c's fingerprints (see InputSum), a digest of
// what c is made from but the row, or 0 when c cannot have fingerprints.
// columns are the CSV's column names.
func (l *loader) inputsOf(c *content, columns []string) uint64 {
	if columns == nil {
		return 0
	}
	var exprs []*expr
	switch c.Kind {
	case KindTemplate:
		if c.variables != nil {
			if c.items == nil {
				return 0
			}
			for i := range c.items {
				if c.items[i].e.fastStr == nil {
					return 0
				}
			}
			exprs = append(exprs, c.variables)
		}
	case KindText:
		if c.text.fastStr == nil {
			return 0
		}
		exprs = append(exprs, c.text)
	case KindInteractive:
		if c.interactive.fastJSON == nil {
			return 0
		}
		exprs = append(exprs, c.interactive)
	default:
		return 0
	}
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.AppendUvarint(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte(inputsVersion))
	field([]byte(digestVersion))
	field([]byte{byte(c.Kind)})
	field([]byte(c.template))
	field(binary.AppendUvarint(nil, uint64(len(columns))))
	for _, col := range columns {
		field([]byte(col))
	}
	for _, x := range exprs {
		src, ok := l.source(x.Range())
		if !ok {
			return 0
		}
		field(src)
		for _, t := range x.Variables() {
			root := t.RootName()
			if root == "row" {
				continue
			}
			if (root != "var" && root != "local") || len(t) < 2 {
				return 0
			}
			// The whole variable or local, whatever part of it is read.
			v, diags := t[:2].TraverseAbs(l.cfg.root)
			if diags.HasErrors() {
				return 0
			}
			js, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				return 0
			}
			name, _ := traverserName(t[1])
			field([]byte(root + "." + name))
			field(js)
		}
	}
	return max(binary.LittleEndian.Uint64(h.Sum(nil)), 1)
}

// source returns the text of the configuration at rng.
func (l *loader) source(rng hcl.Range) ([]byte, bool) {
	f := l.parser.Files()[rng.Filename]
	if f == nil || rng.End.Byte > len(f.Bytes) || rng.Start.Byte > rng.End.Byte {
		return nil, false
	}
	return f.Bytes[rng.Start.Byte:rng.End.Byte], true
}
