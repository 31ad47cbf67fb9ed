package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/certstream/certstream/config"
)

// newFlags returns the flag set of the subcommand name, whose help shows
// "usage: certstream NAME SYNOPSIS", then about, then every flag.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("certstream "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s %s\n\n%s\n", fs.Name(), synopsis, strings.TrimSpace(about))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args, which must hold only flags. With -h or --help it
// prints the full help to stdout; on wrong use, one line to stderr. ok
// reports whether the command should go on; if not, it returns code.
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard) // the flag package would print the whole help on any error
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	case err != nil:
		return usageError(fs, stderr, "%v", err), false
	case fs.NArg() > 0:
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0)), false
	}
	return 0, true
}

// usageError prints one line saying what is wrong with the command line
// and where to look, and returns the exit status of wrong use, 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s (see %[1]s --help)\n", fs.Name(), fmt.Sprintf(format, args...))
	return 2
}

// configFlag is the help of the --config flag of serve, validate-config and demo.
const configFlag = "config `FILE` (default: $" + config.EnvConfigFile + ", then ./" + config.DefaultFile + ", else built-in defaults)"

// optionalFloat is a float flag whose absence is distinct from any value:
// its help shows no default of its own (the usage text says what absence means).
type optionalFloat struct {
	v   float64
	set bool
}

func (f *optionalFloat) String() string {
	if f == nil || !f.set {
		return ""
	}
	return fmt.Sprint(f.v)
}

func (f *optionalFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	f.v, f.set = v, true
	return nil
}

// urls builds the URLs a client on this machine uses to reach a node.
type urls struct {
	host string // host:port
	tls  bool
}

// clientURLs returns the URLs of a node listening on addr with cfg: an
// unspecified address (every interface) is reached as localhost, and TLS
// (server.tls_cert and tls_key) means wss:// and https://.
func clientURLs(addr net.Addr, cfg *config.Config) urls {
	host := addr.String()
	if a, ok := addr.(*net.TCPAddr); ok && (a.IP == nil || a.IP.IsUnspecified()) {
		host = net.JoinHostPort("localhost", strconv.Itoa(a.Port))
	}
	return urls{host: host, tls: cfg.Server.TLSCert != "" && cfg.Server.TLSKey != ""}
}

// ws returns the WebSocket URL of path (which starts with a slash).
func (u urls) ws(path string) string {
	if u.tls {
		return "wss://" + u.host + path
	}
	return "ws://" + u.host + path
}

// http returns the HTTP URL of path (which starts with a slash).
func (u urls) http(path string) string {
	if u.tls {
		return "https://" + u.host + path
	}
	return "http://" + u.host + path
}
