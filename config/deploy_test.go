package config

import (
	"path/filepath"
	"testing"
)

// The cluster example files in deploy/cluster load and validate, with the
// role their name says.
func TestDeployClusterExamples(t *testing.T) {
	files, err := filepath.Glob("../deploy/cluster/*.toml")
	if err != nil || len(files) < 8 {
		t.Fatalf("deploy/cluster: %d files, %v", len(files), err)
	}
	for _, f := range files {
		cfg, err := Load(f, nil)
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		want := RoleEdge
		if base := filepath.Base(f); base == "ingest.toml" || len(base) > 10 && base[:10] == "ha-ingest-" {
			want = RoleIngest
		}
		if cfg.Cluster.Role != want {
			t.Errorf("%s: role %q, want %q", f, cfg.Cluster.Role, want)
		}
	}
}
