package ctclient

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// StaticCT is a client of one static-ct (tiled) log. Its fields are read-only
// once in use; it is safe for concurrent use.
type StaticCT struct {
	MonitoringURL string           // the monitoring prefix from the log list
	HTTP          *http.Client     // shared with the operator's other logs; nil means http.DefaultClient
	UserAgent     string           // sent with every request when not empty
	PublicKey     crypto.PublicKey // when set, GetCheckpoint verifies the log's signature
	// Origin is the checkpoint origin the log must use. When empty, the
	// checkpoint's own origin line is taken as is (real logs use their
	// submission prefix, which often differs from the monitoring prefix).
	Origin string
}

// TileWidth is the number of entries of a full tile.
const TileWidth = 256

// GetCheckpoint fetches and parses the log's checkpoint. With a PublicKey, a
// missing or invalid log signature is a BadSignature error; cosignatures and
// other unknown signature lines are ignored.
func (c *StaticCT) GetCheckpoint(ctx context.Context) (Checkpoint, error) {
	ep := c.endpoint("checkpoint", "checkpoint", maxCheckpointBody)
	body, err := ep.get(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := decodeCheckpoint(body, c.Origin, c.PublicKey)
	if err != nil {
		var se *sigError
		if errors.As(err, &se) {
			return Checkpoint{}, ep.fail(BadSignature, err)
		}
		return Checkpoint{}, ep.fail(Decode, err)
	}
	return cp, nil
}

// GetDataTile fetches data tile n: the full tile when width is 0 or
// TileWidth, else the partial tile of width entries. A 404 (a partial tile
// deleted once the full one exists, or a tile not yet written) is a NotFound
// error. Gzip bodies are decompressed, within a size cap of 64 KiB per leaf.
func (c *StaticCT) GetDataTile(ctx context.Context, n uint64, width int) ([]byte, error) {
	limit := int64(maxDataTileBody)
	if width > 0 && width < TileWidth {
		limit = int64(width) * maxTileLeafBody
	}
	ep := c.endpoint("data-tile", DataTilePath(n, width), limit)
	if width < 0 || width > TileWidth {
		return nil, ep.fail(BadRequest, fmt.Errorf("tile width %d is outside 0..%d", width, TileWidth))
	}
	return ep.get(ctx)
}

// GetIssuer fetches the issuer certificate whose SHA-256 is fp and checks
// that the DER hashes to fp (else a Decode error).
func (c *StaticCT) GetIssuer(ctx context.Context, fp [32]byte) ([]byte, error) {
	ep := c.endpoint("issuer", "issuer/"+hex.EncodeToString(fp[:]), maxIssuerBody)
	der, err := ep.get(ctx)
	if err != nil {
		return nil, err
	}
	if got := sha256.Sum256(der); got != fp {
		return nil, ep.fail(Decode, fmt.Errorf("body of %d bytes has SHA-256 %x", len(der), got))
	}
	return der, nil
}

// endpoint describes one request under the monitoring prefix.
func (c *StaticCT) endpoint(op, path string, limit int64) endpoint {
	return endpoint{hc: c.HTTP, userAgent: c.UserAgent, op: op, url: joinURL(c.MonitoringURL, path), limit: limit}
}

// DataTilePath returns the path of data tile n under the monitoring prefix:
// "tile/data/<N>" for a full tile (width 0 or TileWidth), with ".p/<width>"
// appended for a partial one. N is written in 3-digit groups, every group
// but the last prefixed with "x": 1234067 → "x001/x234/067".
func DataTilePath(n uint64, width int) string {
	p := "tile/data/" + tileIndex(n)
	if width > 0 && width < TileWidth {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}

// tileIndex encodes a tile index in static-ct 3-digit groups.
func tileIndex(n uint64) string {
	groups := []string{fmt.Sprintf("%03d", n%1000)}
	for n /= 1000; n > 0; n /= 1000 {
		groups = append(groups, fmt.Sprintf("x%03d", n%1000))
	}
	var b strings.Builder
	for i := len(groups) - 1; i >= 0; i-- {
		b.WriteString(groups[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	return b.String()
}
