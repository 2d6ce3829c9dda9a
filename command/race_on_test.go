//go:build race

package command

// raceEnabled says the tests run under the race detector, where the slowest
// end-to-end tests use fewer sends.
const raceEnabled = true
