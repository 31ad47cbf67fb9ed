package config

import (
	"strings"
	"testing"
)

// [log] sets the level and format of the node's log lines, from the file
// or the environment; other values are refused.
func TestLogSection(t *testing.T) {
	if d := Default(); d.Log.Level != "info" || d.Log.Format != "text" {
		t.Fatalf("default [log] %+v", d.Log)
	}
	file := writeFile(t, t.TempDir(), "c.toml", "[log]\nlevel = \"debug\"\n")
	cfg, err := Load(file, []string{"CERTSTREAM_LOG_FORMAT=json"})
	if err != nil || cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Fatalf("[log] %+v, %v", cfg.Log, err)
	}
	bad := writeFile(t, t.TempDir(), "c.toml", "[log]\nformat = \"xml\"\n")
	_, err = Load(bad, []string{"CERTSTREAM_LOG_LEVEL=loud"})
	for _, want := range []string{"log.format", "xml", "log.level", "loud"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
}
