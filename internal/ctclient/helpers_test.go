package ctclient

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fixtures"
)

// navigliOrigin is the origin the navigli checkpoints were re-signed under.
const navigliOrigin = "navigli2025h2.resigned.test"

// readTestdata reads a file of the shared test data.
func readTestdata(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// navigliFile reads a file of the navigli2025h2 static-ct log.
func navigliFile(t testing.TB, elem ...string) []byte {
	t.Helper()
	return readTestdata(t, append([]string{"static-ct", "navigli2025h2"}, elem...)...)
}

// testLogKey returns the public key that signed the navigli checkpoints.
func testLogKey(t testing.TB) crypto.PublicKey {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, "static-ct", "keys", "test-log-key.pub.pem"))
	if block == nil {
		t.Fatal("test-log-key.pub.pem holds no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// newECDSAKey generates a P-256 key.
func newECDSAKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signTreeHead returns a TLS DigitallySigned by key over the RFC 6962 tree
// head, built here byte by byte independently of the package.
func signTreeHead(t testing.TB, key crypto.Signer, ts, size uint64, root [32]byte) []byte {
	t.Helper()
	var in bytes.Buffer
	in.Write([]byte{0, 1})
	_ = binary.Write(&in, binary.BigEndian, ts)
	_ = binary.Write(&in, binary.BigEndian, size)
	in.Write(root[:])
	digest := sha256.Sum256(in.Bytes())
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	alg := byte(3)
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = 1
	}
	ds := []byte{4, alg, byte(len(sig) >> 8), byte(len(sig))}
	return append(ds, sig...)
}

// serve starts a loopback server answering with h and returns its URL.
func serve(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// serveBody answers every request with status and body.
func serveBody(t testing.TB, status int, body []byte) string {
	t.Helper()
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// gzipBytes compresses b (writing to a bytes.Buffer cannot fail).
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// serveNavigli serves the navigli2025h2 folder under /log/, passing each
// file through encode (nil: as stored). A missing file is a 404.
func serveNavigli(t testing.TB, encode func(w http.ResponseWriter, path string, body []byte)) string {
	t.Helper()
	dir := fixtures.Path(t, "static-ct", "navigli2025h2")
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		rel, ok := strings.CutPrefix(r.URL.Path, "/log/")
		if !ok || strings.Contains(rel, "..") {
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(dir + "/" + rel)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if encode == nil {
			_, _ = w.Write(body)
			return
		}
		encode(w, rel, body)
	}) + "/log/"
}

// wantKind fails the test unless err is an *Error of kind want.
func wantKind(t testing.TB, err error, want Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error of kind %s", err, err, want)
	}
	if e.Kind != want {
		t.Fatalf("error kind %s, want %s: %v", e.Kind, want, err)
	}
	return e
}

// quickClient is an HTTP client with a short timeout for timeout tests.
func quickClient() *http.Client {
	return &http.Client{Timeout: 300 * time.Millisecond}
}

// testClient is an HTTP client whose timeout only bounds a hung test.
func testClient() *http.Client {
	return &http.Client{Timeout: 20 * time.Second}
}
