package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
)

// getEntries is an RFC 6962 get-entries response.
type getEntries struct {
	Entries []struct {
		LeafInput []byte `json:"leaf_input"`
		ExtraData []byte `json:"extra_data"`
	} `json:"entries"`
}

// runDecode prints, one per line, the message the node would send for each
// entry of a get-entries response read from stdin. A bad entry is reported
// on stderr with its index; the others still print; the status is then 1.
func runDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("decode", "--log-name NAME --log-url URL [--start N] [--format full|lite|domains] [--seen SECONDS] < get-entries.json", `
Print, one per line, the message the node would send for each entry of an
RFC 6962 get-entries response read from stdin. A bad entry is reported on
stderr with its index and the others still print; the exit status is then 1.`)
	format := fs.String("format", "full", "message `format`: full, lite or domains")
	name := fs.String("log-name", "", "the log's `name`, for source.name (required)")
	url := fs.String("log-url", "", "the log's `URL`, for source.url and cert_link (required)")
	start := fs.Uint64("start", 0, "`index` of the response's first entry (default 0)")
	var seen optionalFloat
	fs.Var(&seen, "seen", "the seen timestamp in Unix `seconds` (default: now)")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	appendMsg, ok := formats[*format]
	if !ok {
		return usageError(fs, stderr, "unknown --format %q (want full, lite or domains)", *format)
	}
	if *name == "" || *url == "" {
		return usageError(fs, stderr, "--log-name and --log-url are required")
	}
	seenMillis := time.Now().UnixMilli()
	if seen.set {
		seenMillis = int64(math.Round(seen.v * 1000))
	}
	var resp getEntries
	if err := json.NewDecoder(stdin).Decode(&resp); err != nil {
		fmt.Fprintf(stderr, "decode: reading get-entries JSON from stdin: %v\n", err)
		return 1
	}
	source := &wire.Source{Name: *name, URL: *url}
	chains := certfields.NewCache(1024)
	status := 0
	var buf []byte
	for i, raw := range resp.Entries {
		index := *start + uint64(i)
		e, err := ctdecode.DecodeRFC6962(index, raw.LeafInput, raw.ExtraData, chains)
		if err != nil {
			fmt.Fprintf(stderr, "decode: %v\n", err) // the error names the entry index
			status = 1
			continue
		}
		u := &wire.Update{Entry: *e, Source: source, CertLink: follow.EntryLink(*url, index), Seen: seenMillis}
		buf = append(appendMsg(buf[:0], u), '\n')
		if _, err := stdout.Write(buf); err != nil {
			fmt.Fprintf(stderr, "decode: %v\n", err)
			return 1
		}
	}
	return status
}

// formats maps --format values to encoders.
var formats = map[string]func([]byte, *wire.Update) []byte{
	"full":         wire.AppendFull,
	"lite":         wire.AppendLite,
	"domains":      wire.AppendDomainsOnly,
	"domains-only": wire.AppendDomainsOnly,
}
