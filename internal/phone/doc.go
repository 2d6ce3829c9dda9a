// Package phone normalizes the phone numbers of recipients and suppress
// lists to E.164 digits without the '+', as Briq writes them. Numbers are
// normalized with github.com/nyaruka/phonenumbers (Google's
// libphonenumber): Parse with the default region, then IsValidNumber, then
// E.164 without the '+'. That path costs about 10 µs per number, five times
// the per-row budget, almost all of it in building and looking up regular
// expressions. So the common shapes (digits with spaces, dashes, dots or
// parentheses, with or without a leading '+', the country code or the
// national prefix) take a fast path that replays what Parse and
// IsValidNumber would do with the same library metadata and precompiled
// patterns. The fast path only ever answers "valid, and this is the number";
// whenever a step could go more than one way (national prefixes that are
// patterns, carrier codes, country codes shared by several regions, leading
// zeros, international dialling prefixes) it steps aside and the library
// decides. TestPhoneFastPathAgreesWithLibrary checks the two agree.
//
// The figures behind each fast path are BenchmarkNormalize (this fast path
// against the library alone) and, for the digit automaton of digitdfa.go,
// BenchmarkDigitMatcher; an upgrade of the library is checked here, by the
// agreement tests, and nowhere else.
//
// It must not import other ujumbe packages or do any I/O.
package phone
