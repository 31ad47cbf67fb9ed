#!/bin/sh
# Checks deploy/systemd/certstream.service with systemd-analyze verify
# (syntax, known directives, an executable ExecStart). The unit's ExecStart
# path is pointed at a freshly built binary in a temporary copy. Skips, exit
# 0, where systemd-analyze is absent.
#
# usage: scripts/verify-systemd.sh   (from the repository root; make systemd-check)
set -eu
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "verify-systemd: systemd-analyze not found; skipped"
	exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/certstream" ./cmd/certstream
sed "s#/usr/local/bin/certstream#$dir/certstream#" deploy/systemd/certstream.service >"$dir/certstream.service"
out=$(systemd-analyze verify "$dir/certstream.service" 2>&1) || { echo "$out"; exit 1; }
# verify exits 0 on some problems it only reports: any line about the unit fails the check.
if printf '%s\n' "$out" | grep -q 'certstream.service'; then
	echo "$out"
	exit 1
fi
echo "verify-systemd: deploy/systemd/certstream.service OK"
