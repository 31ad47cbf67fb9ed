// Command certstream is a certstream node: it follows every trusted
// Certificate Transparency log and streams each new certificate to
// WebSocket and SSE clients in the certstream JSON format.
//
// Usage:
//
//	certstream [--config FILE]                 run the node (the default)
//	certstream decode --log-name N --log-url U --start I [--format full|lite|domains] [--seen S]
//	certstream validate-config [--config FILE]
//	certstream demo                            run the node against built-in fake logs
package main

import (
	"fmt"
	"io"
	"os"
)

// commands are the subcommands; each takes its arguments and the standard
// streams and returns the exit status.
var commands = map[string]func(args []string, stdin io.Reader, stdout, stderr io.Writer) int{
	"serve":  func(args []string, _ io.Reader, stdout, stderr io.Writer) int { return runServe(args, stdout, stderr) },
	"decode": runDecode,
	"demo":   func(args []string, _ io.Reader, stdout, stderr io.Writer) int { return runDemo(args, stdout, stderr) },
	"validate-config": func(args []string, _ io.Reader, stdout, stderr io.Writer) int {
		return runValidateConfig(args, stdout, stderr)
	},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if cmd, ok := commands[args[0]]; ok {
			return cmd(args[1:], stdin, stdout, stderr)
		}
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			usage(stdout)
			return 0
		}
		if args[0] != "" && args[0][0] != '-' {
			fmt.Fprintf(stderr, "certstream: unknown command %q\n", args[0])
			usage(stderr)
			return 2
		}
	}
	return runServe(args, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  certstream [serve] [--config FILE]      run the node (default: ./certstream.toml or built-in defaults)
  certstream decode --log-name NAME --log-url URL --start N [--format full|lite|domains] [--seen SECONDS]
                                          decode an RFC 6962 get-entries response from stdin
  certstream validate-config [--config FILE]
                                          print the effective configuration, or every problem
  certstream demo [--addr localhost:8080] [--rate 20]
                                          the node fed by built-in fake CT logs (no network needed)
`)
}
