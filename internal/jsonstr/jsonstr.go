// Package jsonstr appends JSON strings byte for byte as encoding/json
// writes them (HTML characters escaped, invalid UTF-8 replaced), without
// its allocations for the common case of printable ASCII. Digests of
// rendered content and the streamed plan -json depend on these bytes
// being json.Marshal's. It imports no ujumbe package.
package jsonstr

import "encoding/json"

// Append appends s to b as a quoted JSON string.
func Append[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	b = AppendChars(b, s)
	return append(b, '"')
}

// AppendChars appends s as Append does, without the quotes: printable
// ASCII as it is, with a backslash before quotes and backslashes, anything
// else (control and HTML characters, non-ASCII) through json.Marshal.
// encoding/json escapes character by character, so the parts of a string
// appended one after the other give the whole string's escaped form,
// unless a character spans two parts (not in ASCII).
func AppendChars[S ~string | ~[]byte](b []byte, s S) []byte {
	var seen byte
	for i := 0; i < len(s); i++ {
		seen |= kind[s[i]]
	}
	switch {
	case seen == 0:
		return append(b, s...)
	case seen&marshal != 0:
		enc, _ := json.Marshal(string(s))
		return append(b, enc[1:len(enc)-1]...)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if kind[s[i]] == backslash {
			b = append(append(b, s[start:i]...), '\\')
			start = i
		}
	}
	return append(b, s[start:]...)
}

// What a byte needs in a JSON string, as encoding/json writes it.
const (
	backslash = 1 << iota // a backslash before it: " and \
	marshal               // json.Marshal's escaping: control, HTML, non-ASCII
)

var kind = func() (k [256]byte) {
	for c := range k {
		switch {
		case c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&':
			k[c] = marshal
		case c == '"' || c == '\\':
			k[c] = backslash
		}
	}
	return k
}()
