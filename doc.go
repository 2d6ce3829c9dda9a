// Command ujumbe is a declarative WhatsApp campaign runner: plan what a
// directory of HCL files wants, apply it through the Briq API, never send twice.
//
// main only hands the arguments and standard streams to command.Main and
// exits with its code: it is the one place that exits, and it must hold
// nothing else (see README.md, Architecture, for the packages).
package main
