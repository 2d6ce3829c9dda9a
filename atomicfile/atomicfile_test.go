package atomicfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, content := range []string{"first", "second, longer content"} {
		if err := WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("content = %q, want %q", got, content)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", st.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temp files left)", len(entries))
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "f")
	if err := WriteFile(path, []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}

// TestWriteFileNotRegular writes to paths that exist and are not regular
// files: they are written through and stay what they are. Before, the
// temporary file was renamed over them, so report -csv=/dev/stdout (as
// root) replaced the device link with a regular file.
func TestWriteFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	stdout := filepath.Join(dir, "stdout") // as /dev/stdout: a link to a pipe
	if err := os.Symlink(fifo, stdout); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("old content, longer than the new"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	// A device like /dev/null (never /dev/null itself: a failing test run as
	// root would replace it); creating one needs privileges.
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Logf("no device case: mknod: %v", err)
		null = ""
	}
	for _, tt := range []struct {
		name, path string
		mode       os.FileMode // of the path itself afterwards
		read       string      // a pipe to read what was written, or ""
	}{
		{"named pipe", fifo, os.ModeNamedPipe, fifo},
		{"link to a pipe", stdout, os.ModeSymlink, fifo},
		{"device", null, os.ModeDevice | os.ModeCharDevice, ""},
		{"link to a regular file", link, os.ModeSymlink, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "" {
				t.Skip("no device")
			}
			got := make(chan string, 1)
			if tt.read != "" {
				go func() {
					b, err := os.ReadFile(tt.read) // opening blocks until the writer opens
					if err != nil {
						t.Error(err)
					}
					got <- string(b)
				}()
			}
			if err := WriteFile(tt.path, []byte("report"), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.read != "" {
				select {
				case s := <-got:
					if s != "report" {
						t.Errorf("the pipe received %q, want %q", s, "report")
					}
				case <-time.After(10 * time.Second):
					t.Fatal("nothing was written to the pipe")
				}
			}
			fi, err := os.Lstat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != tt.mode {
				t.Errorf("%s is now %v, want it to stay %v", tt.path, fi.Mode().Type(), tt.mode)
			}
		})
	}
	if b, _ := os.ReadFile(regular); string(b) != "report" {
		t.Errorf("the link's target holds %q, want %q", b, "report")
	}
	entries, _ := os.ReadDir(dir)
	want := 4
	if null != "" {
		want++
	}
	if len(entries) != want {
		t.Errorf("directory holds %d entries, want %d (no temporary files left)", len(entries), want)
	}
}

func TestWriteFileRefused(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("listen on a unix socket: %v", err)
	}
	defer l.Close()
	for _, path := range []string{dir, sock} {
		if err := WriteFile(path, []byte("x"), 0o600); err == nil {
			t.Errorf("WriteFile(%s) succeeded", path)
		}
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("the socket was replaced: %v, %v", fi, err)
	}
}

// TestMissingDirectory: a path in a directory that does not exist is an
// error naming the path and the directory, not the temporary file.
func TestMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nowhere")
	path := filepath.Join(dir, "r.csv")
	err := WriteFile(path, []byte("x"), 0o600)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), ".tmp-") || !strings.Contains(err.Error(), "there is no directory "+dir+" (") {
		t.Errorf("WriteFile in a missing directory: %v", err)
	}
}
