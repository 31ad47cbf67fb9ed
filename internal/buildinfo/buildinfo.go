// Package buildinfo says which build of certstream is running: its version,
// the commit it was built from and the Go release that compiled it.
//
// The version and commit come from the linker when set (as the Dockerfile
// does, with -ldflags "-X ...buildinfo.version=v1.2.3 -X
// ...buildinfo.commit=abc123"), otherwise from the build information the go
// command records: the module version (go install ...@v1.2.3) and the VCS
// revision (a build inside a git checkout).
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker (-ldflags -X); empty otherwise.
var version, commit string

// Unknown is what Version and Commit return when the build did not record
// the value.
const Unknown = "unknown"

var read = sync.OnceValue(func() info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, version, commit)
})

type info struct{ version, commit string }

// fromBuildInfo prefers the linker's values and falls back to bi (which may
// be nil).
func fromBuildInfo(bi *debug.BuildInfo, version, commit string) info {
	if bi != nil {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		if commit == "" {
			modified := false
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if commit != "" && modified {
				commit += "-dirty"
			}
		}
	}
	if version == "" {
		version = Unknown
	}
	if commit == "" {
		commit = Unknown
	}
	return info{version, commit}
}

// Version is the release, e.g. "v1.2.3", or a pseudo-version for a build
// between releases; Unknown when the build did not record one.
func Version() string { return read().version }

// Commit is the VCS revision the binary was built from, with "-dirty" when
// the working tree had changes; Unknown when the build did not record one.
func Commit() string { return read().commit }

// GoVersion is the Go release that compiled the binary, e.g. "go1.26.8".
func GoVersion() string { return runtime.Version() }
