// Package plan computes what apply would do: the pure diff of the sends a
// configuration wants (campaign × message × recipient) against the sends the
// state records, at a given time. Each send gets exactly one Class.
//
// Build does no I/O and takes the clock as a parameter, so tests pin time.
// Rebuild gives the same plan as Build from an earlier plan and the list of
// what the state recorded since (state.Changes), classifying again only the
// recipients that changed or whose time came: apply -wait's later rounds.
// A class that can depend on other recipients' sends makes it build the
// whole plan instead (needsFullBuild).
// Rendering lives apart from building: the human renderer reads only the
// JSON document (Document), so -json and the human plan cannot disagree.
// The saved plan file format (File) is owned here too, and so is the one
// mapping of rendered content onto Briq's send requests (NewRequest):
// apply sends what it maps, and plan shows its JSON, so plan shows what
// Briq receives. That mapping is why plan imports briq's request types.
//
// It owns the audience policy and WhatsApp's limits as plan facts
// (limits.go): frequency_cap, daily_first_contacts and pair_spacing give
// each due send the earliest time they allow, in a pass over the built
// items (Rebuild's over the recipients it classified again: the cap and
// the spacing couple only one phone's sends), and TierLeft is the tier
// apply holds a run to.
//
// It also owns what a moved block means for a recorded send: Build reads
// the configuration's moved blocks and counts a send recorded under from as
// one of to (Recorded), while apply makes the move in the state.
//
// This package must not send anything, write the state, read flags, or
// import apply, refresh or command.
package plan
