package state

import (
	"os"
	"testing"
)

func TestZZGen(t *testing.T) {
	if os.Getenv("ZZGEN") == "" { t.Skip() }
	b := &testing.B{}
	_ = b
}

func BenchmarkZZRead(b *testing.B) {
	path := os.Getenv("ZZPATH")
	if path == "" {
		j, s := benchFiles(b, 1_000_000)
		os.Rename(s, "/tmp/ujb.state")
		os.Rename(j+".wal", "/tmp/ujbj.state.wal")
		b.Skip("generated")
	}
	for b.Loop() {
		if _, _, err := Read(path); err != nil {
			b.Fatal(err)
		}
	}
}
