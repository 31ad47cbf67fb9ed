package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, tc := range []struct {
		name            string
		bi              *debug.BuildInfo
		version, commit string
		want            info
	}{
		{"no build info", nil, "", "", info{Unknown, Unknown}},
		{"module and vcs", vcs("abc123", "false"), "", "", info{"v1.2.3", "abc123"}},
		{"modified tree", vcs("abc123", "true"), "", "", info{"v1.2.3", "abc123-dirty"}},
		{"linker wins", vcs("abc123", "true"), "v9.0.0", "def456", info{"v9.0.0", "def456"}},
		{"devel is not a version", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", "", info{Unknown, Unknown}},
	} {
		if got := fromBuildInfo(tc.bi, tc.version, tc.commit); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestGoVersion(t *testing.T) {
	if v := GoVersion(); len(v) < 4 || v[:2] != "go" {
		t.Fatalf("GoVersion() = %q", v)
	}
}
