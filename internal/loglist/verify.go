package loglist

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Size caps of a fetched list and signature.
const (
	maxListBytes = 16 << 20
	maxSigBytes  = 64 << 10
)

// Verify checks that sig is pub's SHA-256 signature over the exact bytes of
// data: RSA PKCS#1 v1.5 (as Google signs its list) or ECDSA ASN.1.
func Verify(data, sig []byte, pub crypto.PublicKey) error {
	digest := sha256.Sum256(data)
	switch key := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
			return fmt.Errorf("loglist: RSA signature over %d bytes does not verify: %w", len(data), err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(key, digest[:], sig) {
			return fmt.Errorf("loglist: ECDSA signature over %d bytes does not verify", len(data))
		}
	default:
		return fmt.Errorf("loglist: unsupported public key type %T", pub)
	}
	return nil
}

// Fetch downloads the list at url and its signature (url with ".json"
// replaced by ".sig"), verifies the signature with pub and parses the list.
// It returns the raw list bytes and the parsed list; any failure is an
// error, and the caller keeps its last good list.
func Fetch(ctx context.Context, hc *http.Client, url, userAgent string, pub crypto.PublicKey) ([]byte, *List, error) {
	base, ok := strings.CutSuffix(url, ".json")
	if !ok {
		return nil, nil, fmt.Errorf("loglist: list URL %q does not end in .json", url)
	}
	data, err := get(ctx, hc, url, userAgent, maxListBytes)
	if err != nil {
		return nil, nil, err
	}
	sig, err := get(ctx, hc, base+".sig", userAgent, maxSigBytes)
	if err != nil {
		return nil, nil, err
	}
	if err := Verify(data, sig, pub); err != nil {
		return nil, nil, fmt.Errorf("%w (list %s)", err, url)
	}
	l, err := Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (list %s)", err, url)
	}
	return data, l, nil
}

// get returns the body of a 200 answer of at most limit bytes.
func get(ctx context.Context, hc *http.Client, url, userAgent string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("loglist: %w", err)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("loglist: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("loglist: GET %s: HTTP %d", url, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("loglist: GET %s: reading body: %w", url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("loglist: GET %s: body exceeds %d bytes", url, limit)
	}
	if len(b) == 0 {
		return nil, errors.New("loglist: GET " + url + ": empty body")
	}
	return b, nil
}
