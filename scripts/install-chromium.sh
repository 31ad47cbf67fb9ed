#!/bin/sh
# Installs Debian's chromium package if no Chromium is on PATH (needs root
# and apt), then prints the path of the binary. The browser tests
# (make browser-check) drive it headless.
#
# usage: scripts/install-chromium.sh
set -eu
find_chromium() {
	for name in chromium chromium-browser google-chrome; do
		if command -v "$name" >/dev/null 2>&1; then
			command -v "$name"
			return 0
		fi
	done
	return 1
}
if ! find_chromium >/dev/null; then
	echo "install-chromium: installing Debian's chromium package" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
bin=$(find_chromium)
"$bin" --version >&2 || true
echo "$bin"
