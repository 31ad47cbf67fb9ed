package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/certstream/certstream/config"
)

// runValidateConfig implements `certstream validate-config [--config PATH]`.
// It loads the configuration exactly as the node does (file lookup, then
// CERTSTREAM_* overrides from the process environment) and either prints the
// effective configuration as TOML with secrets masked to stdout and returns 0,
// or prints every problem, one per line as "<file>:<line>: <key>: <problem>",
// to stderr and returns 1. Bad command-line usage returns 2.
func runValidateConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate-config", "[--config FILE]", `
Load the configuration exactly as serve does (the file, then CERTSTREAM_*
overrides from the environment) and print the effective configuration as
TOML with secrets masked (exit 0), or every problem as FILE:LINE: KEY:
PROBLEM (exit 1).`)
	path := fs.String("config", "", configFlag)
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}

	cfg, file, err := config.LoadNamed(*path, os.Environ())
	if err != nil {
		var ps *config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps.List {
				fmt.Fprintln(stderr, p)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	out, err := cfg.TOML()
	if err != nil {
		fmt.Fprintf(stderr, "validate-config: rendering the configuration: %v\n", err)
		return 1
	}
	if file == "" {
		file = "none, defaults"
	}
	fmt.Fprintf(stdout, "# effective configuration (file: %s; environment overrides applied; secrets masked)\n", file)
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "validate-config: %v\n", err)
		return 1
	}
	return 0
}
