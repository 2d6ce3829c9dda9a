// Package jsonerr words the errors of decoding a small JSON file a person
// wrote (templates.json, sandbox.json) for that person: the file, the line
// and column, what was expected in terms of JSON rather than of Go types,
// and an example of the right shape. It imports no ujumbe package.
package jsonerr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Explain returns err, from decoding data read from path, as a message
// that names the file, the line and column where there is one, and ends
// with example, the shape the file should have.
func Explain(path string, data []byte, err error, example string) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		at     string
		what   string
	)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		what = "the file is empty"
	case errors.As(err, &syntax):
		at, what = position(data, syntax.Offset), strings.TrimPrefix(syntax.Error(), "json: ")
	case errors.As(err, &typ):
		what = fmt.Sprintf("found %s where %s belongs", article(typ.Value), kind(typ.Type))
		if typ.Field != "" {
			what = fmt.Sprintf("%q must be %s, not %s", typ.Field, kind(typ.Type), article(typ.Value))
		}
		at = position(data, typ.Offset)
	default:
		what = strings.TrimPrefix(err.Error(), "json: ")
	}
	if at != "" {
		at = " " + at
	}
	return fmt.Errorf("%s%s: %s; it must be JSON like %s", path, at, what, example)
}

// position returns "line L, column C" of the last byte before offset in
// data: json's errors give the offset after the byte or value at fault.
func position(data []byte, offset int64) string {
	if offset < 1 || offset > int64(len(data)) {
		return ""
	}
	before := data[:offset-1]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// kind names what JSON value a Go type is decoded from.
func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Pointer:
		return kind(t.Elem())
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	}
	return "another kind of value"
}

// article puts "a" or "an" before the JSON kind json's errors name.
func article(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "":
		return "a value"
	}
	if strings.HasPrefix(v, "number") {
		return "a number"
	}
	return "a " + v
}
