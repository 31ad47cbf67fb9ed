#!/bin/sh
# Checks the Grafana dashboard (deploy/grafana/dashboards/certstream.json)
# against a real Prometheus: installs Debian's prometheus package if no
# prometheus is on PATH (needs root and apt), then runs
# TestDashboardAgainstPrometheus: the demo node fed by the fake CT logs, with
# clients and the archive on, scraped every second on loopback for 30 s;
# every dashboard query must return data. About a minute.
#
# usage: scripts/check-dashboard.sh   (from the repository root; make dashboard-check)
set -eu
if ! command -v prometheus >/dev/null 2>&1; then
	echo "check-dashboard: installing Debian's prometheus package"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
prometheus --version 2>&1 | head -n 1
PROMETHEUS_BINARY=$(command -v prometheus) exec go test -count=1 -v -run 'TestDashboard' ./cmd/certstream
