package config

import (
	"runtime"
	"testing"
	"time"
)

func BenchmarkZZPhases(b *testing.B) {
	dir := writeBenchDir(b, 1_000_000)
	cfg, _ := Load(dir, LoadOptions{})
	set := cfg.Recipients["customers"]
	db := set.block
	set.Recipients = nil
	runtime.GC()
	for range b.N {
		t0 := time.Now()
		db.rows, _ = db.table.rows(db.csvAttr.Expr.Range())
		ch := make(chan *chunk, 1000)
		readChunks(db, ch)
		var chunks []*chunk
		for c := range ch {
			chunks = append(chunks, c)
		}
		t1 := time.Now()
		s := &evalScope{root: cfg.root, shape: db.shape, file: db.table.name}
		norm := newPhoneNormalizer(db.region)
		for _, c := range chunks {
			db.evalChunk(c, s, norm)
		}
		t2 := time.Now()
		b.Logf("read %v eval(1 core) %v", t1.Sub(t0), t2.Sub(t1))
		chunks = nil
		runtime.GC()
	}
}
