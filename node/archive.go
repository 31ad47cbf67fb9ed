package node

import (
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/deltasink"
	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
)

// archive returns the Delta sink's producer factory and ring capacity for
// the router, or nil when delta_sink is disabled. The ring holds four
// batches (the sink buffers two more while a flush runs): a slow disk never
// slows the router, and the sink drops (counted) only when it falls that
// far behind.
func archive(cfg config.DeltaSinkConfig) (func(*mailbox.Ring[*wire.Update]) actor.Producer, int) {
	if !cfg.Enabled {
		return nil, 0
	}
	return deltasink.New(deltasink.Config{
		TablePath:          cfg.TablePath,
		BatchSize:          cfg.BatchSize,
		FlushInterval:      cfg.FlushInterval(),
		Compression:        cfg.Compression,
		CheckpointInterval: cfg.CheckpointInterval,
	}), 4 * cfg.BatchSize
}
