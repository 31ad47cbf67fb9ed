package deltasink_test

import (
	"testing"

	"github.com/certstream/certstream/internal/archive"
	"github.com/certstream/certstream/internal/delta/deltatest"
)

// BenchmarkSink measures the sink end to end: 10000 distinct certificates
// pushed through the ring, drained, and committed (zstd) per iteration.
func BenchmarkSink(b *testing.B) {
	const rows = 10000
	updates := deltatest.Generated(b, rows, 0, seen0)
	h := newHarness(b, rows, func(c *archive.Config) { c.BatchSize = rows; c.Compression = "zstd" })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.push(updates)
		if err := h.flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.StopTimer()
	h.stop()
}
