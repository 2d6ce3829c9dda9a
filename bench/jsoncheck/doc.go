// Command jsoncheck reads one JSON plan (`ujumbe plan -json`) from standard
// input token by token, in constant memory however large it is, and prints
// how many sends and messages it holds, or why it is not valid JSON (exit
// status 1). bench/run uses it on the plan of a million recipients.
//
// Usage:
//
//	ujumbe plan -json | go run ./bench/jsoncheck
package main
