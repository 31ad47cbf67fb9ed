#!/bin/sh
# Builds the static certstream binary the container ships (the Dockerfile
# runs this script; cmd/certstream's TestStaticBuildAsInTheDockerfile runs it
# too): no cgo, no local paths, the version and commit stamped by the linker
# (empty: taken from the build information the go command records).
#
# usage: scripts/build-static.sh OUTPUT [VERSION [COMMIT]]   (from the repository root)
set -eu
out=${1:?usage: scripts/build-static.sh OUTPUT [VERSION [COMMIT]]}
version=${2:-}
commit=${3:-}
pkg=github.com/certstream/certstream/internal/buildinfo
CGO_ENABLED=0 exec go build -trimpath -ldflags "-s -w -X $pkg.version=$version -X $pkg.commit=$commit" -o "$out" ./cmd/certstream
