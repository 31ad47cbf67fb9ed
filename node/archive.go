package node

import (
	"log/slog"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/deltasink"
	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/archive"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
)

// deltaSink returns the Delta sink's producer factory and ring capacity for
// the router, or nil when delta_sink is disabled. The ring holds four
// batches (the sink buffers two more while a flush runs): a slow disk never
// slows the router, and the sink drops (counted) only when it falls that
// far behind.
func deltaSink(cfg config.DeltaSinkConfig) (func(*mailbox.Ring[*wire.Update]) actor.Producer, int) {
	if !cfg.Enabled {
		return nil, 0
	}
	slog.Info("archiving every certificate to a Delta Lake table", "table_path", cfg.TablePath,
		"batch_size", cfg.BatchSize, "flush_interval_secs", cfg.FlushIntervalSecs, "compression", cfg.Compression)
	return deltasink.New(archive.Config{
		TablePath:          cfg.TablePath,
		BatchSize:          cfg.BatchSize,
		FlushInterval:      cfg.FlushInterval(),
		Compression:        cfg.Compression,
		CheckpointInterval: cfg.CheckpointInterval,
	}), 4 * cfg.BatchSize
}
