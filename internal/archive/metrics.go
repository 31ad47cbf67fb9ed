package archive

import "github.com/VictoriaMetrics/metrics"

// The metrics, shared by every Archive in the process.
var (
	recordsWritten  = metrics.NewCounter("certstream_delta_records_written")
	flushes         = metrics.NewCounter("certstream_delta_flushes")
	writeErrors     = metrics.NewCounter("certstream_delta_write_errors")
	bufferSize      = metrics.NewGauge("certstream_delta_buffer_size", nil)
	flushDuration   = metrics.NewPrometheusHistogram("certstream_delta_flush_duration_seconds")
	recordsDropped  = metrics.NewCounter("certstream_delta_records_dropped")
	commitConflicts = metrics.NewCounter("certstream_delta_commit_conflicts")
	alreadyArchived = metrics.NewCounter("certstream_delta_records_already_archived")
)
