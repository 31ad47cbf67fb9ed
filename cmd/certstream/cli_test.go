package main

import (
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/certstream/certstream/config"
)

// subcommandFlags lists each subcommand with the flags its help must show.
var subcommandFlags = map[string][]string{
	"serve":           {"-config"},
	"decode":          {"-format", "-log-name", "-log-url", "-start", "-seen"},
	"validate-config": {"-config"},
	"demo":            {"-config", "-addr", "-rate"},
	"version":         nil,
}

func TestHelpIsCompleteAndExitsZero(t *testing.T) {
	for name, flags := range subcommandFlags {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			stdout, stderr, code := runBinary(t, nil, nil, args...)
			if code != 0 || stderr != "" {
				t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
			}
			if !strings.HasPrefix(stdout, "usage: certstream "+name) {
				t.Errorf("%q: help must start with its usage line:\n%s", args, stdout)
			}
			for _, f := range flags {
				if !strings.Contains(stdout, "  "+f+" ") && !strings.Contains(stdout, "  "+f+"\n") {
					t.Errorf("%q: help does not show %s:\n%s", args, f, stdout)
				}
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		stdout, _, code := runBinary(t, nil, nil, args...)
		if code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
		for name := range subcommandFlags {
			if !strings.Contains(stdout, "certstream "+name) && !strings.Contains(stdout, "certstream ["+name+"]") {
				t.Errorf("%q: %s missing from the command list:\n%s", args, name, stdout)
			}
		}
	}
}

func TestDecodeHelpShowsTrueDefaults(t *testing.T) {
	stdout, _, _ := runBinary(t, nil, nil, "decode", "--help")
	if strings.Contains(stdout, "(default -1)") || !strings.Contains(stdout, "(default: now)") {
		t.Errorf("--seen must show only its real default (now):\n%s", stdout)
	}
	if strings.Contains(stdout, " --start N ") || !strings.Contains(stdout, "[--start N]") {
		t.Errorf("--start is optional (default 0):\n%s", stdout)
	}
}

// TestWrongUseExitsTwoWithOneLine checks every kind of wrong use: an
// unknown command or flag, a bad flag value, an extra argument.
func TestWrongUseExitsTwoWithOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"--nope"},
		{"serve", "--nope"},
		{"serve", "extra"},
		{"decode", "--start", "minus-one", "--log-name", "L", "--log-url", "u"},
		{"decode", "--log-name", "L", "--log-url", "u", "extra"},
		{"decode", "--format", "xml", "--log-name", "L", "--log-url", "u"},
		{"decode", "--format", "full"},
		{"validate-config", "extra"},
		{"demo", "extra"},
		{"demo", "--rate", "0"},
		{"version", "extra"},
		{"help", "frobnicate"},
	} {
		stdout, stderr, code := runBinary(t, nil, nil, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "certstream") {
			t.Errorf("%q: want one line on stderr starting with certstream, got stdout %q stderr %q", args, stdout, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		stdout, stderr, code := runBinary(t, nil, nil, arg)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, stderr)
		}
		for _, want := range []string{"certstream ", "commit ", runtime.Version()} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: no %q in %q", arg, want, stdout)
			}
		}
	}
}

// TestClientURLs checks the URLs the banners show: those a client on this
// machine would use.
func TestClientURLs(t *testing.T) {
	tls := config.Default()
	tls.Server.TLSCert, tls.Server.TLSKey = "cert.pem", "key.pem"
	plain := config.Default()
	for _, tc := range []struct {
		addr    string
		cfg     *config.Config
		ws, sse string
	}{
		{"[::]:8080", &plain, "ws://localhost:8080/", "http://localhost:8080/sse?stream=lite"},
		{"0.0.0.0:8080", &plain, "ws://localhost:8080/", "http://localhost:8080/sse?stream=lite"},
		{"127.0.0.1:9000", &plain, "ws://127.0.0.1:9000/", "http://127.0.0.1:9000/sse?stream=lite"},
		{"[::1]:9000", &plain, "ws://[::1]:9000/", "http://[::1]:9000/sse?stream=lite"},
		{"[::]:8443", &tls, "wss://localhost:8443/", "https://localhost:8443/sse?stream=lite"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		u := clientURLs(a, tc.cfg)
		if got := u.ws("/"); got != tc.ws {
			t.Errorf("%s: %s, want %s", tc.addr, got, tc.ws)
		}
		if got := u.http("/sse?stream=lite"); got != tc.sse {
			t.Errorf("%s: %s, want %s", tc.addr, got, tc.sse)
		}
	}
}
