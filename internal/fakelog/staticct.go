package fakelog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Static-ct paths under the monitoring prefix.
const (
	pathCheckpoint = "checkpoint"
	prefixTile     = "tile/"
	prefixNames    = "tile/names/"
	prefixIssuer   = "issuer/"
)

// classifyStaticCT names the endpoint of a static-ct request path.
func classifyStaticCT(rest string) Endpoint {
	switch {
	case rest == pathCheckpoint:
		return EndpointCheckpoint
	case strings.HasPrefix(rest, prefixNames):
		return EndpointNamesTile
	case strings.HasPrefix(rest, "tile/data/"):
		return EndpointDataTile
	case strings.HasPrefix(rest, prefixTile):
		return EndpointHashTile
	case strings.HasPrefix(rest, prefixIssuer):
		return EndpointIssuer
	}
	return EndpointOther
}

// parseTilePath parses a static-ct tile path ("tile/<L>/<N>[.p/<W>]",
// "tile/data/...", "tile/names/..."). Names tiles get level -2. Only the
// canonical encoding of N is accepted.
func parseTilePath(rest string) (tlog.Tile, error) {
	if names, ok := strings.CutPrefix(rest, prefixNames); ok {
		t, err := tlog.ParseTilePath("tile/8/data/" + names)
		if err != nil {
			return tlog.Tile{}, fmt.Errorf("malformed tile path %q", rest)
		}
		t.L = -2
		return t, nil
	}
	t, err := tlog.ParseTilePath("tile/8/" + strings.TrimPrefix(rest, prefixTile))
	if err != nil || !strings.HasPrefix(rest, prefixTile) {
		return tlog.Tile{}, fmt.Errorf("malformed tile path %q", rest)
	}
	return t, nil
}

// parseIssuerPath returns the lowercase hex fingerprint of an issuer path.
func parseIssuerPath(rest string) (string, bool) {
	fp, ok := strings.CutPrefix(rest, prefixIssuer)
	if !ok || len(fp) != 2*sha256.Size || strings.ToLower(fp) != fp {
		return "", false
	}
	if _, err := hex.DecodeString(fp); err != nil {
		return "", false
	}
	return fp, true
}

// serveStaticCT answers checkpoint, data and hash tiles, and issuers.
func (l *Log) serveStaticCT(rest string, f Faults) response {
	s := l.snapshot()
	switch classifyStaticCT(rest) {
	case EndpointCheckpoint:
		head, body, err := l.servedHead(s, f)
		if err != nil {
			return serverError(err)
		}
		if f.Cosignature {
			body += l.witness.cosign(checkpointBody(l.origin, head.Size, head.RootHash), head.Timestamp/1000)
		}
		return response{status: http.StatusOK, contentType: textPlain, body: []byte(body), mutable: true}
	case EndpointIssuer:
		fp, ok := parseIssuerPath(rest)
		if !ok {
			return notFound()
		}
		for _, c := range l.ca.Chain() {
			if sum := sha256.Sum256(c); hex.EncodeToString(sum[:]) == fp {
				return response{status: http.StatusOK, contentType: "application/pkix-cert", body: c}
			}
		}
		return notFound()
	case EndpointDataTile, EndpointHashTile:
		t, err := parseTilePath(rest)
		if err != nil || !tileAvailable(t, s.head.Size) {
			return notFound()
		}
		if t.L >= 0 {
			data, err := tlog.ReadTileData(t, s.hashes)
			if err != nil {
				return response{status: http.StatusInternalServerError, contentType: textPlain, body: []byte(err.Error())}
			}
			return response{status: http.StatusOK, contentType: octetStream, body: data}
		}
		first := t.N * tileWidth
		if first < s.floor {
			return notRetained(http.StatusNotFound, s.floor)
		}
		body := make([]byte, 0, t.W*1200)
		for i := first; i < first+int64(t.W); i++ {
			body = appendTileLeaf(body, s.entry(i), i, l.ca)
		}
		return response{status: http.StatusOK, contentType: octetStream, body: body, compressible: true}
	}
	return notFound()
}
