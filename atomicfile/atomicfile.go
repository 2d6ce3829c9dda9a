package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path. A new path or an existing regular file is
// replaced atomically with permissions perm: WriteFile writes a temporary
// file in the same directory, fsyncs and closes it, renames it over path and
// fsyncs the directory, so the new name is durable too (the sequence of
// restic's local backend); on error the temporary file is removed and path
// is untouched. An existing path that is not a regular file is opened and
// written through, keeping what is there: a symbolic link is followed (so
// /dev/stdout stays a link and the data goes where it points), a device or
// a named pipe receives the data. A directory or a socket is an error.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return replace(path, data, perm)
	case err != nil:
		return fmt.Errorf("write %s: %w", path, err)
	case fi.Mode().IsRegular():
		return replace(path, data, perm)
	case fi.Mode()&fs.ModeSymlink != 0:
		if target, err := os.Stat(path); err == nil && target.IsDir() {
			return fmt.Errorf("write %s: it is a directory", path)
		}
		return writeThrough(path, data, perm, os.O_CREATE)
	case fi.IsDir():
		return fmt.Errorf("write %s: it is a directory", path)
	case fi.Mode()&fs.ModeSocket != 0:
		return fmt.Errorf("write %s: it is a socket, which cannot be written as a file", path)
	}
	// A device or a named pipe: no O_CREATE, so that a path removed
	// meanwhile is not replaced by a regular file either.
	return writeThrough(path, data, perm, 0)
}

// writeThrough opens path for writing, truncating a regular file it leads
// to, and writes data. A regular file is synced; devices and pipes have
// nothing to sync.
func writeThrough(path string, data []byte, perm os.FileMode, flag int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|flag, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if fi, serr := f.Stat(); err == nil && serr == nil && fi.Mode().IsRegular() {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// replace writes data to a temporary file beside path and renames it over
// path.
func replace(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		// The temporary file's name is nothing the caller gave.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: there is no directory %s (%w)", path, filepath.Dir(path), err)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs directory dir, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
