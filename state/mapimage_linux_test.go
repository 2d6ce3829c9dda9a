package state

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mapAll maps every image, however small, until the test ends.
func mapAll(t *testing.T) {
	was := mapImagesFrom
	mapImagesFrom = 0
	t.Cleanup(func() { mapImagesFrom = was })
}

// imageMapping returns the kernel's account (/proc/self/smaps) of this
// process's mappings of the image at path: how many, and the anonymous
// kilobytes of the last, the pages a run copied by writing to them.
func imageMapping(t *testing.T, path string) (n, copiedKB int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4:
			// A mapping's first line: its range, permissions, offset,
			// device, inode and file, if it has one.
			in = len(fields) >= 6 && fields[5] == path+imageSuffix
			if in {
				n++
			}
		case in && len(fields) == 3 && fields[0] == "Anonymous:":
			copiedKB, _ = strconv.Atoi(fields[1])
		}
	}
	return n, copiedKB
}

// TestImageMapped: a large image is mapped rather than read, and the
// state loaded through the mapping is the one the snapshot holds; reading
// it writes no page of the mapping, and a run that changes the loaded
// state (the mapping's pages copied as they are written) records and
// compacts as with an image read into memory.
func TestImageMapped(t *testing.T) {
	mapAll(t)
	path := statePath(t)
	s := mustOpen(t, path)
	populate(t, s, "F", 3000)
	live := contentsOf(s.State())
	mustClose(t, s)

	before, _ := imageMapping(t, path)
	st := mustRead(t, path)
	n, copied := imageMapping(t, path)
	if n != before+1 {
		t.Fatalf("%d mappings of the image after a read, want %d", n, before+1)
	}
	if d := cmp.Diff(live, contentsOf(st)); d != "" {
		t.Fatalf("read through the mapped image (-live +read):\n%s", d)
	}
	if copied != 0 {
		t.Errorf("reading the mapped image copied %d kB of it", copied)
	}

	// A run on the mapped image: sends changed and added, then compacted
	// (a new image renamed over the mapped one).
	s = mustOpen(t, path)
	for i := range 40 {
		// F-1003, F-1008, ...: populate left them to be retried.
		sendOne(t, s, addr("F-"+strconv.Itoa(1003+5*i)), OutcomeAccepted)
	}
	populate(t, s, "G", 500)
	live = contentsOf(s.State())
	mustClose(t, s)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("changed on the mapped image, read again (-live +read):\n%s", d)
	}
	breakSnapshot(t, path)
	if d := cmp.Diff(live, contentsOf(mustRead(t, path))); d != "" {
		t.Fatalf("the new image was not read (-live +read):\n%s", d)
	}
}

// TestImageMappedChecks: the image tests, with every image mapped, also
// by readers while other runs replace the image they map.
func TestImageMappedChecks(t *testing.T) {
	mapAll(t)
	for name, test := range map[string]func(*testing.T){
		"loads":              TestImageLoadsTheSnapshot,
		"ignored":            TestImageIgnored,
		"group check":        TestImageGroupCheck,
		"header checked":     TestImageHeaderChecked,
		"holds journal":      TestImageHoldsTheJournal,
		"journal replaced":   TestImageJournalReplaced,
		"read while written": TestReadWhileImagesAreWritten,
	} {
		t.Run(name, test)
	}
}
