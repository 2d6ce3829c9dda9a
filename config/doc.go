// Package config turns a directory of ujumbe configuration files (*.hcl) and
// the CSV files they name into the desired campaigns: variables, locals, the
// provider settings (WhatsApp's limits among them), the frequency_cap,
// recipient and suppression lists, campaigns with their messages, and moved
// blocks, whose from and to it decodes straight into addrs.Pattern values
// with their source ranges.
//
// Loading has two phases, as in Terraform. The structural phase decodes every
// block against a fixed schema, resolves names (after = message.x,
// recipients = recipients.y), checks references with Expression.Variables and
// evaluates everything that does not depend on a recipient, so that each
// problem is reported once, at its source range. The data phase reads the CSV
// files as they stream (one buffer at a time, never whole), evaluates phone,
// key and where for every row and normalizes phone numbers to E.164 (package
// internal/phone). Expressions that depend on a recipient (row, recipient,
// reply) are kept as hcl.Expression and evaluated per recipient in a child
// of the root EvalContext by Message.Render and Message.When.
//
// It also owns who gets which variant of a message with variant blocks and
// who is in a campaign's holdout (Campaign.Assign, Campaign.HeldOut): pure
// hashes of the campaign's name and the recipient's key, fixed for good,
// since changing them would move recipients between groups. Render takes
// the variant to render; plan decides which (the one recorded, else the
// assigned one).
//
// Everything a user can fix is reported as hcl.Diagnostics with file, line
// and column, CSV rows included: once loading is done, a CSV file's lines up
// to the last one a diagnostic points at are registered in Config.Files, so
// that the diagnostic printer shows the offending line; Config.FileSum
// digests the whole file.
//
// Config owns no I/O beyond reading the configuration directory, var-files
// and CSV files. It must not import ujumbe packages other than addrs,
// inputfile and internal/phone, nor touch the network, the state or the
// terminal, and it never prints: diagnostics are returned to the caller. Sensitive
// values (variables with sensitive = true) carry a cty mark and are refused
// wherever they could reach output.
package config
