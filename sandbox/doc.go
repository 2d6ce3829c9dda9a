// Package sandbox is a Briq-compatible WhatsApp API server for loopback use:
// the server every ujumbe test talks to over real HTTP, the engine behind
// `ujumbe sandbox`, and the embedded provider of `-sandbox` rehearsals.
//
// It owns the request validation, envelopes and status codes that Briq's
// documentation describes (shared/briq-whatsapp-api.md, beside the
// repository) for the endpoints
// ujumbe uses: G2 POST /v1/whatsapp/messages, G3 POST
// /v1/whatsapp/messages/interactive, message status and listing,
// conversations, senders and templates. It models conversations per (sender,
// recipient) with Briq's 24-hour window rule, advances statuses on a clock
// that tests move without sleeping, simulates recipients who answer
// interactive messages deterministically, injects faults on request (Meta's
// per-user marketing limit, 131049, among them), counts what it accepted so
// tests can detect duplicates and check the pace (templates per 24 hours,
// the gap between two messages to one recipient), and can keep its data in
// an append-only file so an embedded sandbox survives restarts.
//
// Where the documentation is silent the sandbox makes a documented choice;
// each is stated on the Options field or handler concerned.
//
// The package must not import ujumbe's briq package or any other project
// package: it declares its own wire structs, so a field name that the client
// gets wrong cannot pass a test by being wrong on both sides. It never
// listens on anything but a loopback address and never talks to the real
// Briq service.
package sandbox
