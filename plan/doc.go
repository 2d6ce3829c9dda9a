// Package plan computes what apply would do: the pure diff of the sends a
// configuration wants (campaign × message × recipient) against the sends the
// state records, at a given time. Each send gets exactly one Class.
//
// Build does no I/O and takes the clock as a parameter, so tests pin time.
// Rendering lives apart from building: the human renderer reads only the
// JSON document (Document), so -json and the human plan cannot disagree.
// The saved plan file format (File) is owned here too, and so is the one
// mapping of rendered content onto Briq's send requests (NewRequest):
// apply sends what it maps, and plan shows its JSON, so plan shows what
// Briq receives. That mapping is why plan imports briq's request types.
//
// This package must not send anything, write the state or read flags.
package plan
