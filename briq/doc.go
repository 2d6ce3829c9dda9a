// Package briq is the typed HTTP client for the Briq "Karibu" WhatsApp API
// (https://karibu.briq.tz, see ../shared/briq-whatsapp-api.md).
//
// It owns:
//   - the wire shapes of the endpoints ujumbe uses: G2 POST /v1/whatsapp/messages
//     (template, text, media), G3 POST /v1/whatsapp/messages/interactive, GET
//     /v1/whatsapp/messages/{message_id}, GET /v1/whatsapp/messages,
//     GET /v1/whatsapp/conversations, GET /v1/whatsapp/senders and
//     GET /v1/whatsapp/templates, with paging helpers for the listings;
//   - the classification of every send outcome into exactly one [Class]
//     (SPEC §4.1): accepted, rate limited, fatal for every send, permanent for
//     this recipient, window closed, provider failed, in doubt, never reached,
//     and Meta's per-user marketing limit (131049: again a day later);
//   - the HTTP transport rules that make "never send twice" possible: net/http
//     never re-sends a POST whose bytes may have reached the server, redirects
//     are not followed, every request has a timeout, every body is drained and
//     closed, and idle connections per host match the caller's parallelism;
//   - parsing an inbound reply's content (WhatsApp Cloud API shapes) into the
//     reply id, title and text a campaign branches on ([ParseReplyContent]).
//
// It must not:
//   - retry anything on its own: whether and when to resend is apply's decision,
//     made by the policy beside the Class ([VerdictOf], [Class.Retryable]:
//     only [RateLimited] without a message_id and [NeverReached] are safe);
//   - send an Idempotency-Key or X-Idempotency-Key header (Briq documents none,
//     and either header makes net/http replay a POST by itself);
//   - log or print anything, read the environment or the state, or put the API
//     key into an error, a String method or any other value it returns;
//   - share its structs with the sandbox package: tests talk to servers that
//     answer with raw JSON, so a wrong field name cannot pass unnoticed.
package briq
