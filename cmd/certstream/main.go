// Command certstream is a certstream node: it follows every trusted
// Certificate Transparency log and streams each new certificate to
// WebSocket and SSE clients in the certstream JSON format.
//
// Usage:
//
//	certstream [serve] [--config FILE]        run the node (the default)
//	certstream demo [--config FILE] [--addr HOST:PORT] [--rate N]
//	                                          run the node against built-in fake logs
//	certstream decode --log-name N --log-url U [--start I] [--format full|lite|domains] [--seen S]
//	certstream validate-config [--config FILE]
//	certstream version                        print the version, commit and Go release
//	certstream help [COMMAND]
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/certstream/certstream/internal/buildinfo"
)

// command is a subcommand: it takes its arguments and the standard streams
// and returns the exit status (0 done, 1 failed, 2 wrong use).
type command func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// commands are the subcommands.
var commands = map[string]command{
	"serve":  func(args []string, _ io.Reader, stdout, stderr io.Writer) int { return runServe(args, stdout, stderr) },
	"decode": runDecode,
	"demo":   func(args []string, _ io.Reader, stdout, stderr io.Writer) int { return runDemo(args, stdout, stderr) },
	"validate-config": func(args []string, _ io.Reader, stdout, stderr io.Writer) int {
		return runValidateConfig(args, stdout, stderr)
	},
	"version": func(args []string, _ io.Reader, stdout, stderr io.Writer) int {
		return runVersion(args, stdout, stderr)
	},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runServe(args, stdout, stderr)
	}
	switch name := args[0]; {
	case commands[name] != nil:
		return commands[name](args[1:], stdin, stdout, stderr)
	case name == "help" && len(args) > 1:
		if cmd := commands[args[1]]; cmd != nil {
			return cmd([]string{"--help"}, stdin, stdout, stderr)
		}
		fmt.Fprintf(stderr, "certstream help: unknown command %q (see certstream help)\n", args[1])
		return 2
	case name == "help" || name == "-h" || name == "-help" || name == "--help":
		usage(stdout)
		return 0
	case name == "-version" || name == "--version":
		return runVersion(args[1:], stdout, stderr)
	case !strings.HasPrefix(name, "-"):
		fmt.Fprintf(stderr, "certstream: unknown command %q (see certstream help)\n", name)
		return 2
	}
	return runServe(args, stdout, stderr) // flags only: serve's
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: certstream [COMMAND] [FLAGS]

commands:
  certstream [serve] [--config FILE]      run the node (the default command)
  certstream demo [--config FILE] [--addr HOST:PORT] [--rate N]
                                          the node fed by built-in fake CT logs (no network needed)
  certstream decode --log-name NAME --log-url URL [--start N] [--format full|lite|domains] [--seen SECONDS]
                                          decode an RFC 6962 get-entries response from stdin
  certstream validate-config [--config FILE]
                                          print the effective configuration, or every problem
  certstream version                      print the version, commit and Go release (also --version)
  certstream help [COMMAND]               this list, or a command's flags (also COMMAND --help)
`)
}

// runVersion prints one line: the version, the commit and the Go release
// of this binary.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", "Print the version, the commit and the Go release this binary was built from.")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	fmt.Fprintf(stdout, "certstream %s (commit %s, %s %s/%s)\n",
		buildinfo.Version(), buildinfo.Commit(), buildinfo.GoVersion(), runtime.GOOS, runtime.GOARCH)
	return 0
}
