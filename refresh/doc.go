// Package refresh brings the state up to date with the provider: it pulls the
// delivery status and the replies of the sends that still need them, records
// opt-out replies, and resolves sends whose outcome is unknown (SPEC §4.1).
//
// It owns:
//   - choosing which sends need the provider: accepted sends within a
//     look-back (Options.LookBack) whose status is not final (read, failed)
//     or that have no reply yet, and every unknown send;
//   - reading them cheaply: workspace-wide listings of
//     GET /v1/whatsapp/messages with since, direction and status filters,
//     200 messages a page, so the cost grows with the provider's traffic
//     since the oldest outstanding send, not with one request per send; a
//     capped fallback to GET /v1/whatsapp/messages/{id} for the few sends the
//     listing does not show; a count of every request made;
//   - the rule that turns an unknown send into an accepted one (its message
//     found at the provider), a retry (its message failed, or certainly
//     absent) or leaves it unknown (ambiguous, too recent, or the evidence
//     incomplete) with a note saying why, described on [Run];
//   - reading the 24h windows of the conversations a free-form follow-up
//     waits on (Options.Windows), as the provider reports them;
//   - reading every inbound message since the last run read them (the
//     state's InboundRead mark, by the provider's clock), whatever the
//     look-back, so that no opt-out is missed in any thread the state
//     knows;
//   - recognising opt-out replies (Options.OptOutKeywords).
//
// It must not:
//   - send anything: it only reads from the provider (GET requests);
//   - import config, plan, apply or command, print, or read flags and the
//     environment; the caller passes the client, the opened (locked) store
//     and the options;
//   - call a send absent or failed on anything but evidence the Briq docs
//     guarantee, and only once its intent is older than Options.Settle: its
//     own message_id looked up (failed, or 404), or, for a send without one,
//     a complete listing (every page, all statuses) of the recipient's
//     conversations since the intent that shows no message it could be. Not
//     on list items' status (the documented item has none), not on the
//     status filter (its values are not documented), not on a listing that
//     failed partway. A send wrongly called absent is sent twice; one wrongly
//     left unknown only waits for the next refresh;
//   - move a provider status backwards (pending < sent < delivered < read;
//     failed is final), or replace a reply already recorded.
package refresh
