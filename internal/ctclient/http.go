package ctclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Body size caps, after decompression. Real get-entries entries, chain
// included, weigh 4 to 20 KiB in JSON and tile leaves 1 to 3 KiB; the caps
// allow an average of 64 KiB per entry asked, so that a log can make the
// node hold no more than a page can need.
const (
	maxEntryBody      = 64 << 10 // per get-entries entry asked, on average
	entriesSlack      = 1 << 20  // per get-entries page: room for one outsized entry
	maxEntriesBody    = 64 << 20 // any get-entries page, however many entries asked
	maxSTHBody        = 64 << 10 // one get-sth answer
	maxCheckpointBody = 1 << 20  // one checkpoint with any number of cosignatures
	maxTileLeafBody   = 64 << 10 // per leaf of a data tile, on average
	maxDataTileBody   = TileWidth * maxTileLeafBody
	maxIssuerBody     = 256 << 10 // one DER certificate
)

// entriesLimit is the body cap of a get-entries page of n entries.
func entriesLimit(n uint64) int64 {
	if n == 0 || n > (maxEntriesBody-entriesSlack)/maxEntryBody {
		return maxEntriesBody
	}
	return int64(n)*maxEntryBody + entriesSlack
}

// maxRedirects bounds the redirects followed for one request, all on the
// request's own origin.
const maxRedirects = 10

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
	resp, err := ep.client().Do(req)
	if err != nil {
		if dnsErr := (*net.DNSError)(nil); errors.As(err, &dnsErr) {
			return nil, ep.fail(DNS, err)
		}
		return nil, ep.fail(Timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := ep.fail(statusKind(resp.StatusCode), nil)
		e.Status = resp.StatusCode
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.Err, e.Detail = describe(resp)
		return nil, e
	}
	body, rerr := ep.readBody(resp)
	if rerr != nil {
		rerr.Status = resp.StatusCode
		return nil, rerr
	}
	return body, nil
}

// client returns ep's HTTP client with this package's redirect policy,
// whatever the client's own: redirects are followed on the request's
// origin only, up to maxRedirects.
func (ep endpoint) client() *http.Client {
	hc := ep.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc // shares the Transport and its connections
	c.CheckRedirect = sameOrigin
	return &c
}

// sameOrigin is a CheckRedirect that hands the caller the redirect itself
// instead of following it off the first request's origin or past
// maxRedirects.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects || origin(req.URL) != origin(via[0].URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

// origin returns u's scheme, host and port, with the scheme's default port
// made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// describe reads (a bounded part of) the body of an answer that is not a
// 200 and returns what may be published about it, its status aside: the
// body's size, or why a redirect was not followed. The detail is the log's
// own content, for debugging: the start of the body, or the Location of a
// redirect.
func describe(resp *http.Response) (err error, detail string) {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLen))
	rest, _ := io.CopyN(io.Discard, resp.Body, drainLen)
	detail = strings.ToValidUTF8(string(head), "?")
	if statusKind(resp.StatusCode) == Redirect {
		loc, lerr := resp.Location()
		if lerr != nil {
			return errors.New("redirect without a usable Location"), detail
		}
		detail = strings.ToValidUTF8(loc.String()[:min(len(loc.String()), snippetLen)], "?")
		if origin(loc) == origin(resp.Request.URL) {
			return fmt.Errorf("more than %d redirects", maxRedirects), detail
		}
		return errors.New("redirect off the log's origin (scheme, host and port) not followed"), detail
	}
	switch size := int64(len(head)) + rest; {
	case rest == drainLen:
		return fmt.Errorf("body of more than %d bytes", size), detail
	case size > 0:
		return fmt.Errorf("%d-byte body", size), detail
	}
	return nil, ""
}

// readBody reads at most ep.limit bytes of a 200 answer and decompresses it
// when it is gzip, whether announced by Content-Encoding or not.
func (ep endpoint) readBody(resp *http.Response) ([]byte, *Error) {
	if resp.ContentLength > ep.limit {
		return nil, ep.fail(TooLarge, fmt.Errorf("body of %d bytes exceeds the %d-byte cap", resp.ContentLength, ep.limit))
	}
	raw, err := readAll(resp.Body, resp.ContentLength, ep.limit)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ep.fail(Decode, fmt.Errorf("truncated body after %d bytes: %w", len(raw), err))
		}
		return nil, ep.fail(Timeout, fmt.Errorf("reading body after %d bytes: %w", len(raw), err))
	}
	if int64(len(raw)) > ep.limit {
		return nil, ep.fail(TooLarge, fmt.Errorf("body exceeds the %d-byte cap", ep.limit))
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "gzip", "x-gzip":
	case "", "identity":
		if !bytes.HasPrefix(raw, gzipMagic) {
			return raw, nil
		}
	default:
		return nil, ep.fail(Decode, fmt.Errorf("unsupported Content-Encoding %q", enc[:min(len(enc), 16)]))
	}
	body, err := gunzip(raw, ep.limit)
	if errors.As(err, new(tooLargeError)) {
		return nil, ep.fail(TooLarge, err)
	}
	if err != nil {
		return nil, ep.fail(Decode, err)
	}
	return body, nil
}

// readAll reads r to its end, at most limit+1 bytes of it. A body of known
// length (0 to limit) is read into a slice of that size, allocated once:
// get-entries answers are hundreds of kilobytes, and growing a slice for
// them cost a few percent of a node's CPU. Short of the length, it fails
// with io.ErrUnexpectedEOF.
func readAll(r io.Reader, length, limit int64) ([]byte, error) {
	if length < 0 || length > limit {
		return io.ReadAll(io.LimitReader(r, limit+1))
	}
	b := make([]byte, length)
	n, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // an empty body that announced bytes
	}
	return b[:n], err
}

// tooLargeError is a body that decompresses beyond its cap.
type tooLargeError struct{ error }

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
		return nil, tooLargeError{fmt.Errorf("gzip body of %d bytes decompresses beyond the %d-byte cap", len(raw), limit)}
	}
	return body, nil
}

// statusKind classifies a non-200 HTTP status.
func statusKind(status int) Kind {
	switch {
	case status >= 300 && status < 400:
		return Redirect
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusNotFound:
		return NotFound
	case status >= 400 && status < 500:
		return BadRequest
	}
	return ServerError
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
