package fakelog

import (
	"testing"
	"time"
)

// BenchmarkAppend measures publishing entries (half precerts) in batches
// of 1000, reporting entries per second.
func BenchmarkAppend(b *testing.B) {
	s := newTestServer(b)
	l := addLog(b, s, LogConfig{Name: "bench", Kind: StaticCT, PrecertFraction: 0.5})
	const batch = 1000
	for b.Loop() {
		appendN(b, l, batch)
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkIssue measures issuing one leaf certificate on one goroutine.
func BenchmarkIssue(b *testing.B) {
	ca, err := newCA()
	if err != nil {
		b.Fatal(err)
	}
	validity := encodeValidity(time.Now())
	for b.Loop() {
		if _, err := ca.issue(ca.randomLeafSpec(true, validity)); err != nil {
			b.Fatal(err)
		}
	}
}
