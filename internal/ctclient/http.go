package ctclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Body size caps, after decompression.
const (
	maxEntriesBody    = 64 << 20 // one get-entries page
	maxSTHBody        = 64 << 10 // one get-sth answer
	maxCheckpointBody = 1 << 20  // one checkpoint with any number of cosignatures
	maxTileLeafBody   = 64 << 10 // per leaf of a data tile, on average
	maxDataTileBody   = TileWidth * maxTileLeafBody
	maxIssuerBody     = 256 << 10 // one DER certificate
)

// snippetLen bounds how much of an error body is quoted in an Error.
const snippetLen = 200

// drainLen bounds how much of an unwanted body is read so that the
// connection can be reused.
const drainLen = 64 << 10

// gzipMagic starts every gzip stream. No body this package reads starts with
// it otherwise (JSON, text, DER, or a tile leaf whose first byte is the high
// byte of a millisecond timestamp).
var gzipMagic = []byte{0x1f, 0x8b}

// endpoint is one GET: where, as what, with whose client, and how much body
// to accept.
type endpoint struct {
	hc        *http.Client
	userAgent string
	op        string
	url       string
	limit     int64
}

// fail builds the Error for this endpoint.
func (ep endpoint) fail(kind Kind, err error) *Error {
	return &Error{Op: ep.op, URL: ep.url, Kind: kind, Err: err}
}

// get performs the request and returns the decompressed body of a 200
// answer, or an *Error.
func (ep endpoint) get(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.url, nil)
	if err != nil {
		return nil, ep.fail(BadRequest, err)
	}
	if ep.userAgent != "" {
		req.Header.Set("User-Agent", ep.userAgent)
	}
	// Setting the header ourselves turns off net/http's transparent
	// decompression, whose output size we could not cap.
	req.Header.Set("Accept-Encoding", "gzip, identity")
	hc := ep.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, ep.fail(Timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := ep.fail(statusKind(resp.StatusCode), snippet(resp.Body))
		e.Status = resp.StatusCode
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		_, _ = io.CopyN(io.Discard, resp.Body, drainLen)
		return nil, e
	}
	body, rerr := ep.readBody(resp)
	if rerr != nil {
		rerr.Status = resp.StatusCode
		return nil, rerr
	}
	return body, nil
}

// readBody reads at most ep.limit bytes of a 200 answer and decompresses it
// when it is gzip, whether announced by Content-Encoding or not.
func (ep endpoint) readBody(resp *http.Response) ([]byte, *Error) {
	if resp.ContentLength > ep.limit {
		return nil, ep.fail(Decode, fmt.Errorf("body of %d bytes exceeds the %d-byte cap", resp.ContentLength, ep.limit))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, ep.limit+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ep.fail(Decode, fmt.Errorf("truncated body after %d bytes: %w", len(raw), err))
		}
		return nil, ep.fail(Timeout, fmt.Errorf("reading body after %d bytes: %w", len(raw), err))
	}
	if int64(len(raw)) > ep.limit {
		return nil, ep.fail(Decode, fmt.Errorf("body exceeds the %d-byte cap", ep.limit))
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "gzip", "x-gzip":
	case "", "identity":
		if !bytes.HasPrefix(raw, gzipMagic) {
			return raw, nil
		}
	default:
		return nil, ep.fail(Decode, fmt.Errorf("unsupported Content-Encoding %q", enc))
	}
	body, err := gunzip(raw, ep.limit)
	if err != nil {
		return nil, ep.fail(Decode, err)
	}
	return body, nil
}

// gunzip decompresses a gzip body of at most limit decompressed bytes.
func gunzip(raw []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gzip body of %d bytes: %w", len(raw), err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gzip body of %d bytes, after %d decompressed bytes: %w", len(raw), len(body), err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("gzip body of %d bytes decompresses beyond the %d-byte cap", len(raw), limit)
	}
	return body, nil
}

// statusKind classifies a non-200 HTTP status.
func statusKind(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusNotFound:
		return NotFound
	case status >= 400 && status < 500:
		return BadRequest
	}
	return ServerError
}

// snippet returns the start of an error body as an error, or nil when the
// body is empty.
func snippet(r io.Reader) error {
	b, _ := io.ReadAll(io.LimitReader(r, snippetLen))
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if s == "" {
		return nil
	}
	return fmt.Errorf("response %q", s)
}

// parseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP-date, relative to now. Absent, malformed and past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(t.Sub(now), 0)
}

// joinURL joins a base URL and a relative path with exactly one "/".
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}
