package certfields_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

// Test certificates are made with the standard library's x509.CreateCertificate;
// what it cannot express (negative serials, arbitrary signature OIDs) is
// patched into its output with rebuild.

var testKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// template returns a minimal leaf certificate template.
func template() *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "leaf.example.test"},
		NotBefore:    time.Unix(1700000000, 0),
		NotAfter:     time.Unix(1800000000, 0),
	}
}

// selfSigned creates a self-signed certificate from tmpl with the test key.
func selfSigned(t testing.TB, tmpl *x509.Certificate) []byte {
	t.Helper()
	return create(t, tmpl, tmpl, testKey())
}

// create signs tmpl with key as issued by parent.
func create(t testing.TB, tmpl, parent *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, testKey().Public(), key)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	return der
}

// parse parses der with certfields.Parse and fails the test on error. It
// also checks that a fast-path result equals the x509 parser's.
func parse(t testing.TB, der []byte) *wire.Cert {
	t.Helper()
	checkFastPath(t, "unit-test certificate", der)
	c, err := certfields.Parse(der)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// build returns the bytes a cryptobyte builder function produces.
func build(t testing.TB, f cryptobyte.BuilderContinuation) []byte {
	t.Helper()
	var b cryptobyte.Builder
	f(&b)
	out, err := b.Bytes()
	if err != nil {
		t.Fatalf("building DER: %v", err)
	}
	return out
}

// generalName is one GeneralName: a context-specific tag and its content.
type generalName struct {
	tag   uint8
	value string
}

var (
	oidSAN    = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidAIA    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidAKI    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidKU     = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidEKU    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidBC     = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidPoison = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	oidOCSP   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}
	oidIssuer = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}
)

// sanExtension builds a subjectAltName extension holding names in order.
func sanExtension(t testing.TB, names ...generalName) pkix.Extension {
	t.Helper()
	value := build(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, n := range names {
				tag := cbasn1.Tag(n.tag).ContextSpecific()
				if n.tag == 0 || n.tag == 4 { // otherName, directoryName are constructed
					tag = tag.Constructed()
				}
				b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.value)) })
			}
		})
	})
	return pkix.Extension{Id: oidSAN, Value: value}
}

// accessDescription is one AuthorityInfoAccess entry.
type accessDescription struct {
	method   asn1.ObjectIdentifier
	location generalName
}

// aiaExtension builds an authorityInfoAccess extension holding descs in order.
func aiaExtension(t testing.TB, descs ...accessDescription) pkix.Extension {
	t.Helper()
	value := build(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, d := range descs {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(d.method)
					b.AddASN1(cbasn1.Tag(d.location.tag).ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddBytes([]byte(d.location.value))
					})
				})
			}
		})
	})
	return pkix.Extension{Id: oidAIA, Value: value}
}

// rebuild splits a certificate into its tbsCertificate elements and its
// outer elements (tbsCertificate, signatureAlgorithm, signatureValue), lets
// edit replace elements, and reassembles the DER. The signature no longer
// verifies, which parsing does not check.
func rebuild(t testing.TB, der []byte, edit func(tbs, outer [][]byte)) []byte {
	t.Helper()
	elements := func(s cryptobyte.String) [][]byte {
		var out [][]byte
		for !s.Empty() {
			var e cryptobyte.String
			if !s.ReadAnyASN1Element(&e, new(cbasn1.Tag)) {
				t.Fatal("rebuild: malformed certificate")
			}
			out = append(out, e)
		}
		return out
	}
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) {
		t.Fatal("rebuild: not a SEQUENCE")
	}
	outer := elements(cert)
	if len(outer) != 3 {
		t.Fatal("rebuild: malformed certificate")
	}
	if tbsElem := cryptobyte.String(outer[0]); !tbsElem.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("rebuild: malformed certificate")
	}
	tbsElems := elements(tbs)
	edit(tbsElems, outer)
	return build(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range tbsElems {
					b.AddBytes(e)
				}
			})
			b.AddBytes(outer[1])
			b.AddBytes(outer[2])
		})
	})
}

// Positions of tbsCertificate elements in a v3 certificate.
const (
	tbsSerial    = 1
	tbsSignature = 2
)

// withSerial replaces the serialNumber INTEGER content octets.
func withSerial(t testing.TB, der, content []byte) []byte {
	t.Helper()
	integer := build(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	})
	return rebuild(t, der, func(tbs, _ [][]byte) { tbs[tbsSerial] = integer })
}

// withSignatureOID replaces both signature AlgorithmIdentifiers (inner and
// outer must match) by one holding oid.
func withSignatureOID(t testing.TB, der []byte, oid asn1.ObjectIdentifier) []byte {
	t.Helper()
	algID := build(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
	})
	return rebuild(t, der, func(tbs, outer [][]byte) { tbs[tbsSignature], outer[1] = algID, algID })
}
