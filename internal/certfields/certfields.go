// Package certfields turns a DER certificate into a wire.Cert carrying
// every field of the certstream wire format (see wire-format.md, "Field
// rules"). It is pure code: no I/O, no actors.
//
// Parsing is lenient the way CT logs need it: the certificate-transparency-go
// x509 parser is the reference, and a certificate it returns together with
// non-fatal errors is accepted. Ordinary certificates take a fast path that
// reads the DER directly (fast.go) and yields exactly what the x509 parser
// would; anything unusual falls back to it. Information that parser does not keep (the raw serial
// bytes, the outer signature OID, the order of subjectAltName and
// authorityInfoAccess entries) is read from the DER directly. Every string of
// the resulting Cert is valid UTF-8.
package certfields

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/google/certificate-transparency-go/x509"

	"github.com/certstream/certstream/internal/wire"
)

// Parse extracts the certstream fields of the DER certificate der. The
// returned Cert owns a copy of der, so the caller may reuse its buffer. An
// error says why the certificate could not be parsed; Parse never panics.
func Parse(der []byte) (*wire.Cert, error) {
	return parse(der, sha256.Sum256(der))
}

// parse is Parse with the SHA-256 of der already computed. Ordinary
// certificates are read by parseFast; anything it is not certain about goes
// through the x509 parser (parseSlow) with the same result.
func parse(der []byte, sum [32]byte) (*wire.Cert, error) {
	c, dnsNames, ok := parseFast(der)
	if !ok {
		var err error
		if c, dnsNames, err = parseSlow(der); err != nil {
			return nil, err
		}
	}
	c.DER = bytes.Clone(der)
	c.SHA1 = sha1.Sum(der)
	c.SHA256 = sum
	c.AllDomains = allDomains(c.Subject.CN, c.IsCA, dnsNames)
	return c, nil
}

// parseSlow reads the fields of der with the x509 parser. The returned Cert
// lacks DER, fingerprints and AllDomains; dnsNames are the subjectAltName
// dNSNames in certificate order.
func parseSlow(der []byte) (c *wire.Cert, dnsNames []string, err error) {
	// The x509 parser is a reflection-based ASN.1 decoder fed with untrusted
	// bytes from CT logs; a panic inside it must not take down the caller.
	defer func() {
		if r := recover(); r != nil {
			c, dnsNames, err = nil, nil, fmt.Errorf("certfields: x509 parser panicked on %d-byte certificate: %v", len(der), r)
		}
	}()
	xc, err := x509.ParseCertificate(der)
	if xc == nil || x509.IsFatal(err) {
		return nil, nil, fmt.Errorf("certfields: parse %d-byte certificate: %w", len(der), err)
	}
	raw, err := readRaw(der)
	if err != nil {
		return nil, nil, err
	}
	c = &wire.Cert{
		Subject:            nameOf(xc.Subject.Names),
		Issuer:             nameOf(xc.Issuer.Names),
		SerialNumber:       serialHex(raw.serial),
		NotBefore:          xc.NotBefore.Unix(),
		NotAfter:           xc.NotAfter.Unix(),
		SignatureAlgorithm: signatureAlgorithm(raw.signatureOID),
		IsCA:               xc.BasicConstraintsValid && xc.IsCA,
	}
	if dnsNames, err = fillExtensions(&c.Extensions, xc); err != nil {
		return nil, nil, err
	}
	return c, dnsNames, nil
}

// allDomainsMapThreshold is the name count above which allDomains dedups with
// a map instead of a linear scan.
const allDomainsMapThreshold = 32

// allDomains is the certstream all_domains list: the subject CN first (unless
// empty or the certificate is a CA), then the SAN dNSNames in certificate
// order, deduplicated by exact string (case and wildcards kept).
func allDomains(cn string, isCA bool, dnsNames []string) []string {
	out := make([]string, 0, len(dnsNames)+1)
	if cn != "" && !isCA {
		out = append(out, cn)
	}
	var seen map[string]struct{}
	if len(dnsNames) > allDomainsMapThreshold {
		seen = make(map[string]struct{}, len(dnsNames)+1)
		for _, d := range out {
			seen[d] = struct{}{}
		}
	}
	for _, d := range dnsNames {
		if seen != nil {
			if _, dup := seen[d]; dup {
				continue
			}
			seen[d] = struct{}{}
		} else if slices.Contains(out, d) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// text converts certificate bytes to a string that is valid UTF-8: every run
// of bytes that is not UTF-8 becomes one U+FFFD, so every string of a Cert
// can be written as JSON or stored as a Parquet string as it is.
func text(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
