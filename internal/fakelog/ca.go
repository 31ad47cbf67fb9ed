package fakelog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"
)

// leafKeyCount is how many leaf key pairs are generated once and shared by
// all leaf certificates (their private halves are never used).
const leafKeyCount = 8

// leafValidity is the lifetime of issued leaf certificates.
const leafValidity = 90 * 24 * time.Hour

// CA is the small certificate authority of a Server: an ECDSA P-256 root and
// an intermediate that signs every leaf certificate and precertificate.
// Chains are issuer-first: [Intermediate, Root].
type CA struct {
	// Root is the DER of the self-signed root certificate.
	Root []byte
	// Intermediate is the DER of the intermediate certificate that issues leaves.
	Intermediate []byte
	// IssuerKeyHash is SHA-256 of the intermediate's SubjectPublicKeyInfo, the
	// PreCert.issuer_key_hash of every precertificate entry.
	IssuerKeyHash [32]byte

	key        *ecdsa.PrivateKey // intermediate private key
	issuerName []byte            // intermediate RawSubject
	staticExts []byte            // leaf extensions that never change, DER
	akiExt     []byte            // authorityKeyIdentifier extension, DER
	leafKeys   []leafKey
	serials    atomic.Uint64 // makes every leaf serial unique
	chainASN1  []byte        // uint24 total ‖ ASN.1Cert(intermediate) ‖ ASN.1Cert(root)
	chainFP    []byte        // SHA-256(intermediate) ‖ SHA-256(root)
}

// leafKey is a pre-generated leaf public key: its SPKI and the matching
// subjectKeyIdentifier extension.
type leafKey struct {
	spki   []byte
	skiExt []byte
}

// Object identifiers and constant encodings for leaf certificates.
var (
	oidECDSAWithSHA256 = derOID(1, 2, 840, 10045, 4, 3, 2)
	oidCommonName      = derOID(2, 5, 4, 3)
	oidKeyUsage        = derOID(2, 5, 29, 15)
	oidSAN             = derOID(2, 5, 29, 17)
	oidBasicConstr     = derOID(2, 5, 29, 19)
	oidPolicies        = derOID(2, 5, 29, 32)
	oidAKI             = derOID(2, 5, 29, 35)
	oidEKU             = derOID(2, 5, 29, 37)
	oidSKI             = derOID(2, 5, 29, 14)
	oidAIA             = derOID(1, 3, 6, 1, 5, 5, 7, 1, 1)
	oidServerAuth      = derOID(1, 3, 6, 1, 5, 5, 7, 3, 1)
	oidOCSP            = derOID(1, 3, 6, 1, 5, 5, 7, 48, 1)
	oidCAIssuers       = derOID(1, 3, 6, 1, 5, 5, 7, 48, 2)
	oidDomainValidated = derOID(2, 23, 140, 1, 2, 1)
	oidCTPoison        = derOID(1, 3, 6, 1, 4, 1, 11129, 2, 4, 3)

	algECDSAWithSHA256 = der(tagSequence, oidECDSAWithSHA256)
	tbsVersion3        = der(tagExplicit0, der(tagInteger, []byte{2}))
	poisonExt          = derExtension(oidCTPoison, true, []byte{tagNull, 0})
)

// newCA generates the root, the intermediate and the shared leaf keys.
func newCA() (*CA, error) {
	now := time.Now().Truncate(time.Hour)
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakelog: root key: %w", err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"XX"}, Organization: []string{"Fakelog"}, CommonName: "Fakelog Test Root"},
		NotBefore:             now.Add(-365 * 24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("fakelog: root certificate: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("fakelog: root certificate: %w", err)
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakelog: intermediate key: %w", err)
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{Country: []string{"XX"}, Organization: []string{"Fakelog"}, CommonName: "Fakelog Test Intermediate E1"},
		NotBefore:             now.Add(-180 * 24 * time.Hour),
		NotAfter:              now.Add(3 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, interKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("fakelog: intermediate certificate: %w", err)
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, fmt.Errorf("fakelog: intermediate certificate: %w", err)
	}

	ca := &CA{
		Root:          rootDER,
		Intermediate:  interDER,
		IssuerKeyHash: sha256.Sum256(inter.RawSubjectPublicKeyInfo),
		key:           interKey,
		issuerName:    inter.RawSubject,
		akiExt:        derExtension(oidAKI, false, der(tagSequence, der(tagContext0, inter.SubjectKeyId))),
		staticExts:    leafStaticExtensions(),
	}
	for range leafKeyCount {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fakelog: leaf key: %w", err)
		}
		spki, err := x509.MarshalPKIXPublicKey(k.Public())
		if err != nil {
			return nil, fmt.Errorf("fakelog: leaf key: %w", err)
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, fmt.Errorf("fakelog: leaf key: %w", err)
		}
		ski := sha1.Sum(pub) // RFC 5280 §4.2.1.2 method (1)
		ca.leafKeys = append(ca.leafKeys, leafKey{spki: spki, skiExt: derExtension(oidSKI, false, der(tagOctetString, ski[:]))})
	}
	ca.chainASN1 = appendUint24Prefixed(nil, appendASN1Cert(appendASN1Cert(nil, interDER), rootDER))
	interFP, rootFP := sha256.Sum256(interDER), sha256.Sum256(rootDER)
	ca.chainFP = append(interFP[:], rootFP[:]...)
	return ca, nil
}

// Chain returns the issuer-first chain [Intermediate, Root].
func (ca *CA) Chain() [][]byte { return [][]byte{ca.Intermediate, ca.Root} }

// leafStaticExtensions encodes the leaf extensions shared by every leaf:
// keyUsage, extKeyUsage, basicConstraints, authorityInfoAccess and
// certificatePolicies (in the order they are placed in the certificate, the
// first three before subjectKeyIdentifier, the rest after it).
func leafStaticExtensions() []byte {
	ku := derExtension(oidKeyUsage, true, der(tagBitString, []byte{7, 0x80})) // digitalSignature
	eku := derExtension(oidEKU, false, der(tagSequence, oidServerAuth))
	bc := derExtension(oidBasicConstr, true, der(tagSequence)) // cA FALSE
	return append(append(ku, eku...), bc...)
}

// leafTrailingExtensions are authorityInfoAccess and certificatePolicies.
var leafTrailingExtensions = append(
	derExtension(oidAIA, false, der(tagSequence,
		der(tagSequence, oidOCSP, der(tagContextURI, []byte("http://ocsp.fakelog.test"))),
		der(tagSequence, oidCAIssuers, der(tagContextURI, []byte("http://fakelog.test/intermediate.der"))),
	)),
	derExtension(oidPolicies, false, der(tagSequence, der(tagSequence, oidDomainValidated)))...,
)

// leafSpec describes one leaf certificate to issue.
type leafSpec struct {
	names    []string // DNS SANs; the first is also the subject CN
	precert  bool
	validity []byte // DER Validity
	keyIndex int
}

// issued is the output of issuing one leaf.
type issued struct {
	cert []byte // certificate or precertificate DER
	tbs  []byte // precert only: TBSCertificate with the poison extension removed
}

// encodeValidity encodes a Validity starting at notBefore for leafValidity.
func encodeValidity(notBefore time.Time) []byte {
	const layout = "060102150405Z"
	nb, na := notBefore.UTC(), notBefore.Add(leafValidity).UTC()
	return der(tagSequence, der(tagUTCTime, []byte(nb.Format(layout))), der(tagUTCTime, []byte(na.Format(layout))))
}

// randomLeafSpec draws 1-3 random DNS names under example.test.
func (ca *CA) randomLeafSpec(precert bool, validity []byte) leafSpec {
	names := make([]string, 1+mrand.IntN(3))
	for i := range names {
		names[i] = randomLabel(12) + ".example.test"
	}
	return leafSpec{names: names, precert: precert, validity: validity, keyIndex: mrand.IntN(len(ca.leafKeys))}
}

// randomLabel returns n random lowercase letters and digits.
func randomLabel(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	return string(b)
}

// nextSerial returns a positive, minimally encoded, unique 16-byte serial:
// 8 random bytes (top bits 01) followed by a per-CA counter.
func (ca *CA) nextSerial() []byte {
	s := make([]byte, 16)
	binary.BigEndian.PutUint64(s, mrand.Uint64())
	s[0] = s[0]&0x3f | 0x40
	binary.BigEndian.PutUint64(s[8:], ca.serials.Add(1))
	return s
}

// issue builds and signs one leaf certificate or precertificate.
func (ca *CA) issue(spec leafSpec) (issued, error) {
	key := ca.leafKeys[spec.keyIndex]
	sans := make([][]byte, len(spec.names))
	for i, n := range spec.names {
		sans[i] = der(tagContextDNSName, []byte(n))
	}
	subject := der(tagSequence, der(tagSet, der(tagSequence, oidCommonName, der(tagUTF8String, []byte(spec.names[0])))))
	exts := [][]byte{
		ca.staticExts,
		key.skiExt,
		ca.akiExt,
		derExtension(oidSAN, false, der(tagSequence, sans...)),
		leafTrailingExtensions,
	}
	head := [][]byte{
		tbsVersion3,
		der(tagInteger, ca.nextSerial()),
		algECDSAWithSHA256,
		ca.issuerName,
		spec.validity,
		subject,
		key.spki,
	}
	tbsWith := func(extra ...[]byte) []byte {
		all := append(exts[:len(exts):len(exts)], extra...)
		return der(tagSequence, append(head[:len(head):len(head)], der(tagExplicit3, der(tagSequence, all...)))...)
	}
	var out issued
	tbs := tbsWith()
	if spec.precert {
		out.tbs = tbs
		tbs = tbsWith(poisonExt)
	}
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, ca.key, digest[:])
	if err != nil {
		return issued{}, fmt.Errorf("fakelog: signing leaf: %w", err)
	}
	out.cert = der(tagSequence, tbs, algECDSAWithSHA256, der(tagBitString, []byte{0}, sig))
	return out, nil
}

// garbageCert returns bytes that are not valid DER (an indefinite length
// SEQUENCE followed by text), deterministic for the index.
func garbageCert(index int64) []byte {
	return fmt.Appendf([]byte{tagSequence, 0x80}, "fakelog: deliberately invalid leaf certificate at index %d", index)
}
