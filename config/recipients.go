package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/internal/phone"
)

// RecipientSet is a recipients block: the rows of its CSV file that passed
// where, each with a normalized phone number and a unique key.
type RecipientSet struct {
	Name string
	// CSVPath is the csv attribute as written, relative to Config.Dir.
	CSVPath string
	// Columns is the CSV header.
	Columns []string
	// Recipients are the rows kept by where, in CSV order.
	Recipients []*Recipient
	// Filtered counts the rows where left out.
	Filtered  int
	DeclRange hcl.Range

	block *dataBlock
}

// Recipient is one row of a recipients CSV.
type Recipient struct {
	// Key identifies the recipient in the state: the key expression's value,
	// or the phone number when there is no key.
	Key string
	// Phone is the number in E.164 digits without '+', e.g. "255712345678".
	Phone string
	// Line is the 1-based line of the CSV file the row starts on.
	Line int

	row rowData
	set *RecipientSet
}

// Column returns the row's value of the named CSV column.
func (r *Recipient) Column(name string) (string, bool) {
	i, ok := r.set.block.table.index[name]
	if !ok {
		return "", false
	}
	return r.row.field(i), true
}

// SuppressSet is a suppress block: phone numbers never to message.
type SuppressSet struct {
	Name, CSVPath string
	// Phones holds the numbers, E.164 digits without '+'.
	Phones    map[string]struct{}
	DeclRange hcl.Range
}

var recipientsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "csv", Required: true},
		{Name: "phone", Required: true},
		{Name: "key"},
		{Name: "where"},
		{Name: "default_region"},
		{Name: "delimiter"},
	},
}

var suppressSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "csv", Required: true},
		{Name: "phone", Required: true},
		{Name: "default_region"},
		{Name: "delimiter"},
	},
}

// dataBlock is what recipients and suppress blocks share: a CSV file and
// the expressions evaluated for each of its rows.
type dataBlock struct {
	kind, name string
	declRange  hcl.Range
	csvPath    string
	csvAttr    *hcl.Attribute
	table      *csvTable
	rows       *csvRows // positioned after the header; nil when unreadable
	phone      *expr
	key        *expr // nil: the key is the phone number
	where      *expr // nil: every row
	region     string
	shape      *rowShape
}

func (l *loader) decodeRecipients(blocks hcl.Blocks) {
	for _, b := range blocks {
		name, ok := l.blockName(b)
		if prev, dup := l.cfg.Recipients[name]; dup {
			l.duplicate(b, name, prev.DeclRange)
			continue
		}
		set := &RecipientSet{Name: name, DeclRange: b.DefRange}
		l.cfg.Recipients[name] = set
		db := l.decodeDataBlock(b, recipientsSchema, ok)
		set.block = db
		set.CSVPath = db.csvPath
		if db.table != nil {
			set.Columns = db.table.header
		}
		if db.rows != nil {
			l.loadRecipients(set)
		}
	}
}

func (l *loader) decodeSuppress(blocks hcl.Blocks) {
	for _, b := range blocks {
		name, ok := l.blockName(b)
		if prev, dup := l.cfg.Suppress[name]; dup {
			l.duplicate(b, name, prev.DeclRange)
			continue
		}
		s := &SuppressSet{Name: name, DeclRange: b.DefRange, Phones: map[string]struct{}{}}
		l.cfg.Suppress[name] = s
		db := l.decodeDataBlock(b, suppressSchema, ok)
		s.CSVPath = db.csvPath
		if db.rows != nil {
			l.loadSuppress(s, db)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(l.cfg.Suppress)) {
		l.cfg.suppressOrder = append(l.cfg.suppressOrder, l.cfg.Suppress[name])
	}
}

// decodeDataBlock decodes the attributes of a recipients or suppress block
// and opens its CSV file. The returned block's rows is nil when the rows
// cannot be evaluated.
func (l *loader) decodeDataBlock(b *hcl.Block, schema *hcl.BodySchema, nameOK bool) *dataBlock {
	db := &dataBlock{kind: b.Type, name: b.Labels[0], declRange: b.DefRange}
	content, diags := b.Body.Content(schema)
	l.diags = append(l.diags, diags...)
	ok := nameOK && !diags.HasErrors()
	what := fmt.Sprintf("%s %q", b.Type, db.name)

	if a, found := content.Attributes["default_region"]; found {
		region, good := l.staticString(a, what, false)
		switch {
		case !good:
			ok = false
		case !phone.ValidRegion(region):
			l.diags = append(l.diags, errorf(a.Expr.Range(), "Unknown region",
				"default_region must be an ISO 3166-1 two-letter region code that phone numbers are written for, such as \"TZ\" or \"KE\"; %q is not one.", region))
			ok = false
		default:
			db.region = strings.ToUpper(region)
		}
	}

	var comma rune // detected from the header unless set
	if a, found := content.Attributes["delimiter"]; found {
		d, good := l.staticString(a, what, false)
		switch r := []rune(d); {
		case !good:
			ok = false
		case len(r) != 1 || r[0] == '"' || r[0] == '\r' || r[0] == '\n' || r[0] == utf8.RuneError:
			l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid delimiter",
				"delimiter must be the one character that separates the CSV file's fields, such as \",\", \";\" or \"\\t\" (a tab); %q is not.", d))
			ok = false
		default:
			comma = r[0]
		}
	}
	if a, found := content.Attributes["csv"]; found {
		db.csvAttr = a
		if path, good := l.staticString(a, what, false); good {
			db.csvPath = path
			db.table = l.openCSV(a, path, comma)
		}
	}
	if db.table != nil {
		rows, diags := db.table.rows(db.csvAttr.Expr.Range())
		l.diags = append(l.diags, diags...)
		db.rows = rows
	}

	var use rowUse
	sc := refScope{rowOK: true, columns: db.table.headerOrNil(), use: &use}
	sc.noColumns = sc.columns == nil
	if db.table != nil {
		sc.csv = db.table.name
	}
	unknown := &evalScope{root: l.cfg.root, unknown: true}
	if a, found := content.Attributes["phone"]; found {
		sc.what = "the phone of " + what
		db.phone = l.newExpr(a.Expr, sc)
		l.checkStaticString(unknown, db.phone, "phone")
	}
	if a, found := content.Attributes["key"]; found {
		sc.what = "the key of " + what
		db.key = l.newExpr(a.Expr, sc)
		l.checkStaticString(unknown, db.key, "key")
	}
	if a, found := content.Attributes["where"]; found {
		sc.what = "the where of " + what
		db.where = l.newExpr(a.Expr, sc)
		if !db.where.broken {
			_, _, diags := unknown.bool(db.where, "where")
			l.diags = append(l.diags, diags...)
			db.where.broken = diags.HasErrors()
		}
	}
	for _, e := range []*expr{db.phone, db.key, db.where} {
		if e == nil {
			continue
		}
		if e.broken {
			ok = false
		}
		l.compileFast(e, sc.columns)
	}
	if (!ok || db.phone == nil) && db.rows != nil {
		db.rows.close()
		db.rows = nil
	}
	if db.rows != nil {
		db.shape = use.shape(db.table.header)
		db.rows.phoneCol = db.phone.col
	}
	return db
}

// checkStaticString evaluates a per-row expression once with unknown rows to
// find type errors before the rows are read, and marks it broken on error.
func (l *loader) checkStaticString(unknown *evalScope, e *expr, what string) {
	if e.broken {
		return
	}
	_, _, diags := unknown.str(e, what)
	l.diags = append(l.diags, diags...)
	e.broken = diags.HasErrors()
}

// openCSV opens the CSV file named by the csv attribute a and registers it
// in Config.Files; comma is its delimiter, 0 to detect it. It returns nil
// after reporting a problem.
func (l *loader) openCSV(a *hcl.Attribute, path string, comma rune) *csvTable {
	if path == "" {
		l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid csv",
			"csv must name a CSV file, relative to the configuration directory."))
		return nil
	}
	name := l.path(path)
	if t := l.tables[name]; t != nil {
		return t
	}
	t, err := openCSVTable(name, comma)
	if err != nil {
		detail := readFailed(name, err)
		summary := "Cannot read CSV file"
		if os.IsNotExist(err) {
			summary = "CSV file not found"
			dir := "the current directory"
			if d := filepath.Clean(l.dir); d != "." {
				dir = fmt.Sprintf("%q", d)
			}
			detail = fmt.Sprintf("There is no file %s. The csv path is relative to the configuration directory, here %s.", name, dir)
		}
		l.diags = append(l.diags, errorf(a.Expr.Range(), summary, "%s", detail))
		return nil
	}
	l.tables[name] = t
	l.cfg.Files[name] = t.file()
	return t
}

// headerOrNil returns the header, or nil when t is nil or has none.
func (t *csvTable) headerOrNil() []string {
	if t == nil {
		return nil
	}
	return t.header
}
