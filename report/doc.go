// Package report owns what people look at to judge and review campaigns:
// the funnel model of every campaign and message (Build), computed once
// from the configuration, the state and the plan at a given time, and its
// renderings — the self-contained HTML report (WriteHTML) — and the journey
// of each campaign as a DOT or Mermaid graph (WriteGraph).
//
// `ujumbe show` (text and -json), `ujumbe report -html` and the funnel
// `apply -wait` ends with all read the same Report, so their numbers agree.
//
// Build does no I/O and takes the clock as a parameter; the renderers write
// to the io.Writer they are given and fetch nothing. This package must not
// print, send, write the state or read flags.
package report
