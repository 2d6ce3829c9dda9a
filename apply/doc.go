// Package apply executes a plan: it sends the plan's due sends through the
// Briq client under one shared rate limiter, with a pool of workers that hide
// the provider's latency, and records every send in the state — the intent
// durably before the request leaves, the outcome durably before it is
// reported. It stops at once on errors that would fail every send, stops a
// campaign whose failure rate climbs, honours 429 Retry-After for all
// workers, and on cancellation lets in-flight sends finish and be recorded.
//
// apply never prints: progress, outcomes and the summary go to the caller
// through Options.Progress, Options.Recorded and the returned Summary. It
// renders nothing: it sends the payload the plan rendered and digested
// (plan.Item.Payload), mapped onto Briq's request by plan.NewRequest, the
// mapping plan shows, so the intent's digest, what plan showed and what
// Briq receives are of the one rendering.
//
// It must not decide what is due (that is plan's Build) or which outcomes
// are resent (that is the policy beside briq.Class), print, or read flags.
package apply
