// Package addrs owns the addresses of sends: Addr names one send (a message
// of a campaign to one recipient key) and Pattern selects sends (all, a
// campaign's, a message's or one). It owns their one written form,
// campaign.NAME.message.NAME["KEY"], both ways: String writes it and
// ParsePattern reads it, as the CLI, moved blocks, the state's records and
// every message to the user spell it. It also owns the one rule for what a
// campaign or message name may be (ValidName), so that every name the
// configuration accepts can be written in an address.
//
// Package addrs must not import other ujumbe packages, nor hcl or cty: the
// state, which stores addresses, depends on it and must stay free of the
// configuration language. The written form is HCL's traversal syntax, and
// the tests check that hcl reads and writes it the same way.
package addrs
