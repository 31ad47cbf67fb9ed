package main

import (
	"io"
	"log/slog"

	"github.com/certstream/certstream/config"
)

// newLogger returns the logger c describes (its level, text or JSON lines)
// writing to w. The config has validated c; an unknown level is info.
func newLogger(w io.Writer, c config.LogConfig) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
