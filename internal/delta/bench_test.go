package delta_test

import (
	"testing"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/deltatest"
)

// BenchmarkCommit measures the sink's write path for batches of 10000
// distinct generated certificates with a real two-certificate chain: row
// building, Parquet encoding, fsync and the log commit (with a checkpoint
// every 10). It reports rows/s and the bytes each row takes on disk.
func BenchmarkCommit(b *testing.B) {
	for _, codec := range []string{"zstd", "snappy"} {
		b.Run(codec, func(b *testing.B) {
			const rows = 10000
			updates := deltatest.Generated(b, rows, 0, day0-20000)
			w := openTable(b, b.TempDir(), "bench", func(o *delta.Options) { o.Compression = codec; o.CheckpointInterval = 10 })
			var bytes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bytes += commit(b, w, int64(i), updates).Bytes
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(bytes)/float64(rows*b.N), "bytes/row")
		})
	}
}
