package inputfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Open opens the regular file at path (or a symbolic link to one) for
// reading. Anything else is a *NotRegularError.
func Open(path string) (*os.File, error) {
	// Stat before opening: opening a named pipe blocks until a writer
	// comes.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, st.Mode()); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The path may have been replaced between Stat and Open.
	if st, err = f.Stat(); err == nil {
		err = regular(path, st.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads the whole regular file at path, as os.ReadFile does for
// any file.
func ReadFile(path string) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// NotRegularError is the error for a path that is not a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

// Error says what the path is, e.g. "r.csv is a named pipe, not a regular
// file".
func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, kind(e.Mode))
}

// regular returns nil for a regular file's mode and otherwise a
// *NotRegularError.
func regular(path string, mode fs.FileMode) error {
	if mode.IsRegular() {
		return nil
	}
	return &NotRegularError{Path: path, Mode: mode}
}

// kind names the type of a file that is not regular.
func kind(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	default:
		return "not a file ujumbe can read (" + mode.Type().String() + ")"
	}
}
