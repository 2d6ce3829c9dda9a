package config

import (
	"crypto/sha256"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/addrs"
)

// Config is a loaded configuration: the desired campaigns and everything they
// refer to. A Config is read-only after Load returns and safe for concurrent
// use, Render and When included.
type Config struct {
	// Dir is the configuration directory as given to Load.
	Dir string

	// Files holds every parsed file, HCL and CSV, keyed by the file name that
	// source ranges use, for hcl.NewDiagnosticTextWriter. A CSV file's Bytes
	// are only its lines up to the last one a diagnostic points at; its
	// content is digested by FileSum.
	Files map[string]*hcl.File

	// Provider is never nil: it holds the defaults when there is no
	// provider "briq" block.
	Provider *Provider

	Recipients map[string]*RecipientSet
	Suppress   map[string]*SuppressSet
	Campaigns  []*Campaign // declaration order
	Moved      []*Moved
	// Backend is never nil: without a backend block it is the local file.
	Backend *Backend
	// FrequencyCap is the frequency_cap block, nil without one.
	FrequencyCap *FrequencyCap

	// root is the EvalContext with var, local and the function table; every
	// per-recipient evaluation runs in a child of it.
	root *hcl.EvalContext
	// suppressOrder is Suppress sorted by name, for Suppressed.
	suppressOrder []*SuppressSet
	// sums holds the SHA-256 of the CSV files, which are read streaming:
	// Files holds only the lines of theirs that diagnostics show.
	sums map[string][sha256.Size]byte
}

// FileSum returns the SHA-256 of the content of the input file called name,
// one of Files.
func (c *Config) FileSum(name string) [sha256.Size]byte {
	if sum, ok := c.sums[name]; ok {
		return sum
	}
	var b []byte
	if f := c.Files[name]; f != nil {
		b = f.Bytes
	}
	return sha256.Sum256(b)
}

// Counts are the totals `ujumbe validate` reports.
type Counts struct {
	Campaigns int `json:"campaigns"`
	Messages  int `json:"messages"`
	// Recipients counts the rows of every recipients block that passed its
	// where filter; a set used by two campaigns counts once.
	Recipients int `json:"recipients"`
	// Filtered counts the rows that where left out.
	Filtered int `json:"filtered"`
	// Suppressed counts the recipients (among Recipients) whose phone number
	// is in a suppress block: they are never messaged.
	Suppressed int `json:"suppressed"`
}

// Sends is the number of sends the configuration wants: each campaign's
// messages to each of its recipients.
func (c *Config) Sends() int {
	n := 0
	for _, camp := range c.Campaigns {
		if camp.Recipients != nil {
			n += len(camp.Messages) * len(camp.Recipients.Recipients)
		}
	}
	return n
}

// Counts returns the totals of c.
func (c *Config) Counts() Counts {
	var n Counts
	n.Campaigns = len(c.Campaigns)
	for _, camp := range c.Campaigns {
		n.Messages += len(camp.Messages)
	}
	for _, set := range c.Recipients {
		n.Recipients += len(set.Recipients)
		n.Filtered += set.Filtered
		if len(c.suppressOrder) == 0 {
			continue
		}
		for _, r := range set.Recipients {
			if _, ok := c.Suppressed(r.Phone); ok {
				n.Suppressed++
			}
		}
	}
	return n
}

// Suppressed reports whether phone (E.164 digits, no '+') is listed in a
// suppress block, and the name of the first such block in name order.
func (c *Config) Suppressed(phone string) (block string, ok bool) {
	for _, s := range c.suppressOrder {
		if _, ok := s.Phones[phone]; ok {
			return s.Name, true
		}
	}
	return "", false
}

// Provider holds the settings of the provider "briq" block.
type Provider struct {
	// APIKey is the value of api_key, "" when unset. It is a secret: never
	// print it, log it or store it.
	APIKey string
	// BaseURL is the API's base URL, "https://karibu.briq.tz" by default.
	BaseURL string
	// Sender is the sending number or phone_number_id, "" to let the
	// workspace choose its single active sender.
	Sender string
	// Rate is the number of messages per second shared by all campaigns,
	// 20 by default.
	Rate float64
	// Burst is the rate limiter's burst, 1 by default.
	Burst int
	// MaxRecipients is the campaign size above which apply asks for explicit
	// confirmation; 0 means no limit.
	MaxRecipients int
	// OptOutKeywords are the replies that add a recipient to the opt-outs,
	// whatever their case and punctuation, also at the start or end of a
	// short answer (refresh); ["STOP", "UNSUBSCRIBE"] by default.
	OptOutKeywords []string
	// MaxFailureRate, FailureWindow and MaxConsecutiveFailures are the
	// failure breaker's thresholds: apply stops when that share of the last
	// FailureWindow sends (once a quarter of them are in), or that many in
	// a row, failed for reasons that are not about their recipients. 0.2,
	// 200 and 10 by default; MaxConsecutiveFailures 0 turns the run rule off.
	MaxFailureRate         float64
	FailureWindow          int
	MaxConsecutiveFailures int
	// DailyFirstContacts is the number's messaging tier: at most this many
	// business-initiated (template) messages in any rolling 24 hours; 0
	// means no budget.
	DailyFirstContacts int
	// PairSpacing is the least time between two messages to one phone,
	// 6s by default; 0 turns the rule off.
	PairSpacing time.Duration
	// Settle is how long after its attempt refresh waits before it may
	// call a send in doubt that it cannot find at Briq absent, and so due
	// again; 0 for refresh's default (10 minutes).
	Settle time.Duration
	// DeclRange is the provider block's header, or an empty range when the
	// configuration has no provider block.
	DeclRange hcl.Range
}

// Moved records that an address was renamed, so that sends recorded under
// From count as sends of To.
type Moved struct {
	// From and To are campaigns or messages, both of the same depth.
	From, To addrs.Pattern
	// FromRange and ToRange are the ranges of the from and to expressions,
	// DeclRange the block's header.
	FromRange, ToRange, DeclRange hcl.Range
}
