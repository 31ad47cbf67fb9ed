package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/certstream/certstream/config"
)

// [log] level and format shape the node's log lines.
func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf, config.LogConfig{Level: "warn", Format: "json"})
	l.Info("hidden")
	l.Warn("shown", "port", 8080)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "shown" || line["port"] != 8080.0 {
		t.Fatalf("json at warn: %q (%v)", buf.String(), err)
	}
	buf.Reset()
	l = newLogger(&buf, config.Default().Log)
	l.Debug("hidden")
	l.Info("shown", "port", 8080)
	if got := buf.String(); !strings.Contains(got, "level=INFO msg=shown port=8080") || strings.Contains(got, "hidden") {
		t.Fatalf("text at info: %q", got)
	}
}
