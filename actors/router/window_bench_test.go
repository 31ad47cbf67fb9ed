package router

import (
	"os"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
)

// BenchmarkWindowEntryBytes reports what the replay window counts for one
// real certificate (the navigli precertificates with a real three-certificate
// chain) while warm, with its frames for every stream over WebSocket and
// SSE, and once cold; the time is what a replay pays to build a cold
// entry's full-stream SSE event again:
// go test -run '^$' -bench WindowEntryBytes ./actors/router/
func BenchmarkWindowEntryBytes(b *testing.B) {
	t := b
	src := &wire.Source{Name: "Test Log", URL: "https://ct.example/log/"}
	cache := certfields.NewCache(64)
	var chain []*wire.Cert
	for i, e := range fixtures.FourEntries(t) {
		entry, err := ctdecode.DecodeRFC6962(uint64(i), e.LeafInput, e.ExtraData, cache)
		if err != nil {
			t.Fatal(err)
		}
		if len(entry.Chain) > len(chain) {
			chain = entry.Chain
		}
	}
	data, err := os.ReadFile(fixtures.Path(t, "static-ct", "navigli2025h2", "tile", "data", "000"))
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := ctdecode.ParseDataTile(data, 0, 256)
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{})().(*router)
	for st := range r.formats {
		r.formats[st][fmtWS], r.formats[st][fmtSSE] = 1, 1
	}
	var w window
	r.window = w
	var warm, cold int
	var entries []*entry
	for i, l := range leaves {
		entry, _ := ctdecode.EntryFromTileLeaf(l, nil)
		entry.Chain = chain
		u := &wire.Update{Entry: *entry, Source: src, CertLink: "https://x", Seen: 1, Seq: uint64(i + 1)}
		e := r.window.add(u, 0)
		for st := range wire.NumStreams {
			r.frame(e, wire.Stream(st), fmtWS)
		}
		warm += e.bytes
		r.window.chill(e)
		cold += e.bytes
		entries = append(entries, e)
	}
	i := 0
	for b.Loop() {
		r.frame(entries[i%len(entries)], wire.StreamFull, fmtSSE)
		i++
	}
	b.ReportMetric(float64(warm/len(leaves)), "warm-B/entry")
	b.ReportMetric(float64(cold/len(leaves)), "cold-B/entry")
}
