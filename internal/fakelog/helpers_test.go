package fakelog

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
)

// The helpers below re-implement the client side independently of the
// server's encoders, so tests compare two implementations.

// newTestServer starts a server closed at the end of the test.
func newTestServer(t testing.TB) *Server {
	t.Helper()
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// addLog adds a log or fails the test.
func addLog(t testing.TB, s *Server, cfg LogConfig) *Log {
	t.Helper()
	l, err := s.AddLog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// appendN appends n entries or fails the test.
func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	if err := l.Append(n); err != nil {
		t.Fatal(err)
	}
}

// rawClient never decompresses transparently, so tests see what was sent.
var rawClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}

// fetched is an HTTP response read in full.
type fetched struct {
	status int
	header http.Header
	body   []byte
}

// get fetches url.
func get(t testing.TB, url string) fetched {
	t.Helper()
	resp, err := rawClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return fetched{status: resp.StatusCode, header: resp.Header, body: body}
}

// getOK fetches url and fails unless it is a 200; it returns the body,
// decompressed when Content-Encoding is gzip.
func getOK(t testing.TB, url string) []byte {
	t.Helper()
	f := get(t, url)
	if f.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, f.status, f.body)
	}
	if f.header.Get("Content-Encoding") == "gzip" {
		return gunzip(t, f.body)
	}
	return f.body
}

// gunzip decompresses b.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

// sthResponse is a client-side get-sth body.
type sthResponse struct {
	TreeSize          uint64 `json:"tree_size"`
	Timestamp         uint64 `json:"timestamp"`
	SHA256RootHash    []byte `json:"sha256_root_hash"`
	TreeHeadSignature []byte `json:"tree_head_signature"`
}

// verifyTreeHead checks an RFC 6962 tree head signature with ct-go.
func verifyTreeHead(pub crypto.PublicKey, size, ts uint64, root, sig []byte) error {
	var ds cttls.DigitallySigned
	if rest, err := cttls.Unmarshal(sig, &ds); err != nil || len(rest) != 0 {
		return fmt.Errorf("tree head signature: bad DigitallySigned (%v, %d trailing)", err, len(rest))
	}
	if ds.Algorithm.Hash != cttls.SHA256 || ds.Algorithm.Signature != cttls.ECDSA {
		return fmt.Errorf("tree head signature: algorithm %v", ds.Algorithm)
	}
	if len(root) != sha256.Size {
		return fmt.Errorf("root hash of %d bytes", len(root))
	}
	sth := ct.SignedTreeHead{Version: ct.V1, TreeSize: size, Timestamp: ts}
	copy(sth.SHA256RootHash[:], root)
	input, err := ct.SerializeSTHSignatureInput(sth)
	if err != nil {
		return err
	}
	return cttls.VerifySignature(pub, input, ds)
}

// mth is the RFC 6962 §2.1 Merkle Tree Hash of leaf inputs, recursively.
func mth(leaves [][]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// checkpoint is a parsed, verified static-ct checkpoint.
type checkpoint struct {
	origin    string
	size      uint64
	root      []byte
	timestamp uint64
	sigLines  int
}

// verifyCheckpoint parses a signed note and verifies the RFC 6962 note
// signature of key name origin with pub; other signature lines are ignored.
func verifyCheckpoint(text, origin string, pub crypto.PublicKey, spki []byte) (checkpoint, error) {
	body, sigs, ok := strings.Cut(text, "\n\n")
	if !ok || !strings.HasSuffix(sigs, "\n") {
		return checkpoint{}, fmt.Errorf("note: no blank line or no final newline")
	}
	lines := strings.Split(body, "\n")
	if len(lines) != 3 {
		return checkpoint{}, fmt.Errorf("note body: %d lines, want 3", len(lines))
	}
	var c checkpoint
	c.origin = lines[0]
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, fmt.Errorf("note size %q: %v", lines[1], err)
	}
	c.size = size
	if c.root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil {
		return checkpoint{}, fmt.Errorf("note root: %v", err)
	}
	logID := sha256.Sum256(spki)
	keyID := sha256.Sum256(append(append([]byte(origin+"\n"), 0x05), logID[:]...))
	found := false
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		c.sigLines++
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			return checkpoint{}, fmt.Errorf("signature line %q", line)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			return checkpoint{}, fmt.Errorf("signature line %q", line)
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 4 {
			return checkpoint{}, fmt.Errorf("signature line %q: %v", line, err)
		}
		if name != origin || !bytes.Equal(sig[:4], keyID[:4]) {
			continue // unknown signer (witness)
		}
		if len(sig) < 12 {
			return checkpoint{}, fmt.Errorf("short RFC 6962 note signature")
		}
		c.timestamp = binary.BigEndian.Uint64(sig[4:12])
		if err := verifyTreeHead(pub, c.size, c.timestamp, c.root, sig[12:]); err != nil {
			return checkpoint{}, err
		}
		found = true
	}
	if !found {
		return checkpoint{}, fmt.Errorf("no signature by %q", origin)
	}
	if c.origin != origin {
		return checkpoint{}, fmt.Errorf("origin %q, want %q", c.origin, origin)
	}
	return c, nil
}

// tileLeaf is a client-side parse of a static-ct TileLeaf.
type tileLeaf struct {
	merkleLeaf   []byte // 0 ‖ 0 ‖ TimestampedEntry
	timestamp    uint64
	precert      bool
	issuerKey    []byte
	cert         []byte // x509 certificate or precert TBS
	leafIndex    int64
	preCert      []byte
	fingerprints [][]byte
}

// reader is a bounds-checked big-endian reader.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = fmt.Errorf("short read: want %d bytes, have %d", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) uint(n int) uint64 {
	var v uint64
	for _, c := range r.take(n) {
		v = v<<8 | uint64(c)
	}
	return v
}

// parseTileLeaves splits a data tile into TileLeafs.
func parseTileLeaves(tile []byte) ([]tileLeaf, error) {
	var out []tileLeaf
	r := &reader{b: tile}
	for len(r.b) > 0 && r.err == nil {
		start := r.b
		var l tileLeaf
		l.timestamp = r.uint(8)
		typ := r.uint(2)
		switch typ {
		case 0:
		case 1:
			l.precert = true
			l.issuerKey = r.take(32)
		default:
			return nil, fmt.Errorf("leaf %d: entry type %d", len(out), typ)
		}
		l.cert = r.take(int(r.uint(3)))
		ext := &reader{b: r.take(int(r.uint(2)))}
		if ext.uint(1) != 0 || ext.uint(2) != 5 {
			return nil, fmt.Errorf("leaf %d: no leaf_index extension", len(out))
		}
		l.leafIndex = int64(ext.uint(5))
		if ext.err != nil || len(ext.b) != 0 {
			return nil, fmt.Errorf("leaf %d: bad extensions", len(out))
		}
		l.merkleLeaf = append([]byte{0, 0}, start[:len(start)-len(r.b)]...)
		if l.precert {
			l.preCert = r.take(int(r.uint(3)))
		}
		fps := r.take(int(r.uint(2)))
		if len(fps)%32 != 0 {
			return nil, fmt.Errorf("leaf %d: fingerprints of %d bytes", len(out), len(fps))
		}
		for ; len(fps) > 0; fps = fps[32:] {
			l.fingerprints = append(l.fingerprints, fps[:32])
		}
		out = append(out, l)
	}
	return out, r.err
}

// getSTH fetches and decodes get-sth.
func getSTH(t testing.TB, l *Log) sthResponse {
	t.Helper()
	var sth sthResponse
	if err := json.Unmarshal(getOK(t, l.URL()+"ct/v1/get-sth"), &sth); err != nil {
		t.Fatalf("get-sth: %v", err)
	}
	return sth
}

// getEntries fetches and decodes get-entries.
func getEntries(t testing.TB, l *Log, start, end int64) []ct.LeafEntry {
	t.Helper()
	var resp ct.GetEntriesResponse
	body := getOK(t, fmt.Sprintf("%sct/v1/get-entries?start=%d&end=%d", l.URL(), start, end))
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("get-entries: %v", err)
	}
	return resp.Entries
}
