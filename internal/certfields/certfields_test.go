package certfields_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

// rdns marshals an RDN sequence given as RDNs of (type, value) attributes.
func rdns(t *testing.T, sets ...[]pkix.AttributeTypeAndValue) []byte {
	t.Helper()
	seq := make(pkix.RDNSequence, len(sets))
	for i, s := range sets {
		seq[i] = s
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func atv(oid asn1.ObjectIdentifier, value any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: value}
}

var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL      = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidST     = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidStreet = asn1.ObjectIdentifier{2, 5, 4, 9}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject []byte
		want    wire.Name
	}{
		{"empty subject", rdns(t), wire.Name{}},
		{
			"every field, fixed aggregated order, email excluded",
			rdns(t,
				[]pkix.AttributeTypeAndValue{atv(oidEmail, "ops@example.test")},
				[]pkix.AttributeTypeAndValue{atv(oidST, "Bavaria")},
				[]pkix.AttributeTypeAndValue{atv(oidOU, "Unit")},
				[]pkix.AttributeTypeAndValue{atv(oidO, "Org & Co")},
				[]pkix.AttributeTypeAndValue{atv(oidL, "Munich")},
				[]pkix.AttributeTypeAndValue{atv(oidCN, "cn.example.test")},
				[]pkix.AttributeTypeAndValue{atv(oidC, "DE")},
			),
			wire.Name{
				C: "DE", CN: "cn.example.test", L: "Munich", O: "Org & Co", OU: "Unit", ST: "Bavaria",
				EmailAddress: "ops@example.test",
				Aggregated:   "/C=DE/CN=cn.example.test/L=Munich/O=Org & Co/OU=Unit/ST=Bavaria",
			},
		},
		{
			"repeated attributes: last value wins, across and within RDNs",
			rdns(t,
				[]pkix.AttributeTypeAndValue{atv(oidCN, "first.example.test")},
				[]pkix.AttributeTypeAndValue{atv(oidO, "Org A"), atv(oidO, "Org B")},
				[]pkix.AttributeTypeAndValue{atv(oidCN, "last.example.test")},
			),
			wire.Name{CN: "last.example.test", O: "Org B", Aggregated: "/CN=last.example.test/O=Org B"},
		},
		{
			"other attributes and non-string values ignored",
			rdns(t,
				[]pkix.AttributeTypeAndValue{atv(oidCN, "kept.example.test")},
				[]pkix.AttributeTypeAndValue{atv(oidCN, 7)},
				[]pkix.AttributeTypeAndValue{atv(oidSerial, "12345"), atv(oidStreet, "Main St")},
			),
			wire.Name{CN: "kept.example.test", Aggregated: "/CN=kept.example.test"},
		},
		{
			"T61String bytes made valid UTF-8: one U+FFFD per invalid run",
			rdns(t, []pkix.AttributeTypeAndValue{
				atv(oidL, asn1.RawValue{Tag: asn1.TagT61String, Bytes: []byte("M\xfcnchen \xff\xfe")}),
				atv(oidOU, asn1.RawValue{Tag: asn1.TagBMPString, Bytes: []byte{0x00, 'B', 0x00, 0xfc}}),
			}),
			wire.Name{L: "M\uFFFDnchen \uFFFD", OU: "Bü", Aggregated: "/L=M\uFFFDnchen \uFFFD/OU=Bü"},
		},
		{
			"UTF-8 values kept",
			rdns(t, []pkix.AttributeTypeAndValue{atv(oidO, "Bücher GmbH")}),
			wire.Name{O: "Bücher GmbH", Aggregated: "/O=Bücher GmbH"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tmpl.RawSubject = tc.subject
			c := parse(t, selfSigned(t, tmpl))
			if c.Subject != tc.want {
				t.Errorf("subject = %+v\nwant      %+v", c.Subject, tc.want)
			}
			if c.Issuer != tc.want { // self-signed: issuer = subject
				t.Errorf("issuer = %+v\nwant     %+v", c.Issuer, tc.want)
			}
		})
	}
}

func TestIssuerDiffersFromSubject(t *testing.T) {
	ca := template()
	ca.Subject = pkix.Name{Country: []string{"US"}, Organization: []string{"Test CA Org"}, CommonName: "Test CA"}
	leaf := template()
	c := parse(t, create(t, leaf, ca, testKey()))
	if want := (wire.Name{C: "US", CN: "Test CA", O: "Test CA Org", Aggregated: "/C=US/CN=Test CA/O=Test CA Org"}); c.Issuer != want {
		t.Errorf("issuer = %+v, want %+v", c.Issuer, want)
	}
	if want := "/CN=leaf.example.test"; c.Subject.Aggregated != want {
		t.Errorf("subject aggregated = %q, want %q", c.Subject.Aggregated, want)
	}
}

func TestSerialNumber(t *testing.T) {
	for _, tc := range []struct {
		name   string
		serial *big.Int
		want   string
	}{
		{"zero", big.NewInt(0), "00"},
		{"one", big.NewInt(1), "01"},
		{"high bit set: DER sign byte dropped", big.NewInt(0x80), "80"},
		{"20 bytes with sign byte", new(big.Int).SetBytes(bytes.Repeat([]byte{0xfe}, 20)), strings.Repeat("FE", 20)},
		{"leading zero nibble kept", big.NewInt(0x0abc), "0ABC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tmpl.SerialNumber = tc.serial
			if got := parse(t, selfSigned(t, tmpl)).SerialNumber; got != tc.want {
				t.Errorf("serial_number = %s, want %s", got, tc.want)
			}
		})
	}
	// Non-conforming encodings real logs hold: read as unsigned bytes, leading
	// zero bytes dropped.
	for _, tc := range []struct {
		content []byte
		want    string
	}{
		{[]byte{0xff, 0x01}, "FF01"},     // negative
		{[]byte{0x00, 0x00, 0x05}, "05"}, // non-minimal
		{[]byte{0x00}, "00"},
	} {
		der := withSerial(t, selfSigned(t, template()), tc.content)
		if got := parse(t, der).SerialNumber; got != tc.want {
			t.Errorf("serial content %x: serial_number = %s, want %s", tc.content, got, tc.want)
		}
	}
}

func TestValidityAndFingerprints(t *testing.T) {
	tmpl := template()
	tmpl.NotBefore = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	tmpl.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	der := selfSigned(t, tmpl)
	c := parse(t, der)
	if c.NotBefore != -1 || c.NotAfter != 253402300799 {
		t.Errorf("not_before, not_after = %d, %d, want -1, 253402300799", c.NotBefore, c.NotAfter)
	}
	if c.SHA1 != sha1.Sum(der) || c.SHA256 != sha256.Sum256(der) {
		t.Errorf("fingerprints %x %x are not the hashes of the DER", c.SHA1, c.SHA256)
	}
	if !bytes.Equal(c.DER, der) {
		t.Fatal("DER not kept")
	}
	der[len(der)-1] ^= 0xff
	if bytes.Equal(c.DER, der) {
		t.Error("Cert.DER aliases the caller's buffer")
	}
}

func TestSignatureAlgorithm(t *testing.T) {
	keyCases := []struct {
		name string
		key  func() (crypto.Signer, error)
		want string
	}{
		{"P-256", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }, "ecdsa, sha256"},
		{"P-384", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) }, "ecdsa, sha384"},
		{"P-521", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P521(), rand.Reader) }, "ecdsa, sha512"},
		{"Ed25519", func() (crypto.Signer, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }, "ed25519"},
	}
	for _, tc := range keyCases {
		key, err := tc.key()
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificate(rand.Reader, template(), template(), key.Public(), key)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := parse(t, der).SignatureAlgorithm; got != tc.want {
			t.Errorf("%s: signature_algorithm = %q, want %q", tc.name, got, tc.want)
		}
	}

	// Every OID of the table, patched into a certificate.
	base := selfSigned(t, template())
	for _, tc := range []struct {
		oid  asn1.ObjectIdentifier
		want string
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 2}, "md2, rsa"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}, "md5, rsa"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, "sha1, rsa"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, "sha256, rsa"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, "sha384, rsa"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, "sha512, rsa"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}, "sha256, rsa-pss"},
		{asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}, "dsa, sha1"},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 2}, "dsa, sha256"},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, "ecdsa, sha1"},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, "ecdsa, sha256"},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, "ecdsa, sha384"},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, "ecdsa, sha512"},
		{asn1.ObjectIdentifier{1, 3, 101, 112}, "ed25519"},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}, "unknown"}, // sha224WithRSAEncryption
		{asn1.ObjectIdentifier{1, 3, 101, 113}, "unknown"},              // Ed448
	} {
		if got := parse(t, withSignatureOID(t, base, tc.oid)).SignatureAlgorithm; got != tc.want {
			t.Errorf("OID %v: signature_algorithm = %q, want %q", tc.oid, got, tc.want)
		}
	}
}

func TestBasicConstraints(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      func(*x509.Certificate)
		wantCA   bool
		wantExt  string
		wantHave bool
	}{
		{"absent", func(*x509.Certificate) {}, false, "", false},
		{"CA:FALSE", func(c *x509.Certificate) { c.BasicConstraintsValid = true }, false, "CA:FALSE", true},
		{"CA:TRUE with pathlen", func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.IsCA, c.MaxPathLen = true, true, 2
		}, true, "CA:TRUE", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tc.set(tmpl)
			c := parse(t, selfSigned(t, tmpl))
			if c.IsCA != tc.wantCA || c.Extensions.Has(wire.ExtBasicConstraints) != tc.wantHave ||
				c.Extensions.BasicConstraints != tc.wantExt {
				t.Errorf("is_ca %v, basicConstraints present %v %q; want %v, %v %q", c.IsCA,
					c.Extensions.Has(wire.ExtBasicConstraints), c.Extensions.BasicConstraints,
					tc.wantCA, tc.wantHave, tc.wantExt)
			}
		})
	}
}

func TestAllDomains(t *testing.T) {
	many := make([]string, 0, 80)
	for i := range 40 {
		many = append(many, fmt.Sprintf("h%d.example.test", i))
	}
	many = append(many, many...) // every name twice
	manyWant := append([]string{"h3.example.test"}, slices.Delete(slices.Clone(many[:40]), 3, 4)...)
	for _, tc := range []struct {
		name string
		cn   string
		isCA bool
		sans []generalName
		want []string
	}{
		{"CN first, then SAN order", "cn.example.test", false,
			[]generalName{{2, "b.example.test"}, {2, "a.example.test"}},
			[]string{"cn.example.test", "b.example.test", "a.example.test"}},
		{"exact dedup, case and wildcards kept", "a.example.test", false,
			[]generalName{{2, "a.example.test"}, {2, "B.example.test"}, {2, "b.example.test"}, {2, "*.example.test"}, {2, "B.example.test"}},
			[]string{"a.example.test", "B.example.test", "b.example.test", "*.example.test"}},
		{"CA certificate: CN excluded", "Test Root CA", true,
			[]generalName{{2, "ca.example.test"}}, []string{"ca.example.test"}},
		{"IP, email and URI SANs excluded", "", false,
			[]generalName{{7, "\xc0\x00\x02\x01"}, {1, "a@example.test"}, {6, "https://u.example.test/"}, {2, "d.example.test"}},
			[]string{"d.example.test"}},
		{"nothing", "", false, nil, []string{}},
		{"invalid UTF-8 replaced before dedup", "", false,
			[]generalName{{2, "\xff.example.test"}, {2, "\xfe\xfd.example.test"}},
			[]string{"\uFFFD.example.test"}},
		{"many names (map dedup)", "h3.example.test", false, namesOf(many), manyWant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tmpl.Subject = pkix.Name{CommonName: tc.cn}
			tmpl.BasicConstraintsValid, tmpl.IsCA = tc.isCA, tc.isCA
			if tc.sans != nil {
				tmpl.ExtraExtensions = []pkix.Extension{sanExtension(t, tc.sans...)}
			}
			got := parse(t, selfSigned(t, tmpl)).AllDomains
			if got == nil || !slices.Equal(got, tc.want) {
				t.Errorf("all_domains = %q, want %q", got, tc.want)
			}
		})
	}
}

func namesOf(dns []string) []generalName {
	out := make([]generalName, len(dns))
	for i, d := range dns {
		out[i] = generalName{2, d}
	}
	return out
}

func TestSubjectAltName(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sans     []generalName
		want     string
		wantHave bool
	}{
		{"certificate order across types", []generalName{
			{1, "alice@example.test"}, {2, "www.example.test"}, {7, "\xc0\x00\x02\x01"}, {2, "example.test"},
		}, "email:alice@example.test, DNS:www.example.test, IP Address:192.0.2.1, DNS:example.test", true},
		{"IPv6 compressed, IPv4-mapped", []generalName{
			{7, string(net.ParseIP("2001:db8::1"))},
			{7, string(net.ParseIP("2001:db8:0:0:1:0:0:1"))},
			{7, string(net.ParseIP("::1"))},
			{7, string(net.ParseIP("192.0.2.7"))}, // 16-byte IPv4-mapped form
		}, "IP Address:2001:db8::1, IP Address:2001:db8::1:0:0:1, IP Address:::1, IP Address:::ffff:192.0.2.7", true},
		{"other name types and bad IP lengths skipped", []generalName{
			{6, "https://u.example.test/"}, {7, "\x01\x02\x03"}, {2, "kept.example.test"},
			{4, string(rdnsBytes(t))}, {8, "\x2a\x03"},
		}, "DNS:kept.example.test", true},
		{"nothing left: key absent", []generalName{{6, "https://u.example.test/"}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tmpl.ExtraExtensions = []pkix.Extension{sanExtension(t, tc.sans...)}
			x := parse(t, selfSigned(t, tmpl)).Extensions
			if x.Has(wire.ExtSubjectAltName) != tc.wantHave || x.SubjectAltName != tc.want {
				t.Errorf("subjectAltName present %v %q, want %v %q", x.Has(wire.ExtSubjectAltName),
					x.SubjectAltName, tc.wantHave, tc.want)
			}
		})
	}
}

// TestSubjectAltNameLenient: entries the x509 parser skips (a high tag
// number, a universal-class element) are skipped, not fatal.
func TestSubjectAltNameLenient(t *testing.T) {
	value := []byte{0x30, 0x0e, 0x9f, 0x1f, 0x01, 'x', 0x02, 0x01, 0x05, 0x82, 0x05, 'a', '.', 't', 's', 't'}
	c := parse(t, withExtension(t, pkix.Extension{Id: oidSAN, Value: value}))
	if c.Extensions.SubjectAltName != "DNS:a.tst" || !slices.Equal(c.AllDomains, []string{"leaf.example.test", "a.tst"}) {
		t.Errorf("subjectAltName %q, all_domains %q", c.Extensions.SubjectAltName, c.AllDomains)
	}
}

func rdnsBytes(t *testing.T) []byte {
	return rdns(t, []pkix.AttributeTypeAndValue{atv(oidCN, "dir")})
}

func TestKeyUsage(t *testing.T) {
	all := x509.KeyUsage(1<<9 - 1)
	for _, tc := range []struct {
		name  string
		usage x509.KeyUsage
		ext   []byte // raw extension value instead of usage
		want  string
	}{
		{"all bits in order", all, nil, "Digital Signature, Content Commitment, Key Encipherment, " +
			"Data Encipherment, Key Agreement, Certificate Signing, CRL Signing, Encipher Only, Decipher Only"},
		{"TLS server", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, nil, "Digital Signature, Key Encipherment"},
		{"CA", x509.KeyUsageCertSign | x509.KeyUsageCRLSign, nil, "Certificate Signing, CRL Signing"},
		{"no bits set: present and empty", 0, []byte{0x03, 0x01, 0x00}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tmpl.KeyUsage = tc.usage
			if tc.ext != nil {
				tmpl.ExtraExtensions = []pkix.Extension{{Id: oidKU, Critical: true, Value: tc.ext}}
			}
			x := parse(t, selfSigned(t, tmpl)).Extensions
			if !x.Has(wire.ExtKeyUsage) || x.KeyUsage != tc.want {
				t.Errorf("keyUsage present %v %q, want %q", x.Has(wire.ExtKeyUsage), x.KeyUsage, tc.want)
			}
		})
	}
	if x := parse(t, selfSigned(t, template())).Extensions; x.Has(wire.ExtKeyUsage) {
		t.Errorf("keyUsage present without the extension: %q", x.KeyUsage)
	}
}

func TestExtendedKeyUsage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		usages  []x509.ExtKeyUsage
		unknown []asn1.ObjectIdentifier
		want    string
	}{
		{"fixed order regardless of certificate order", []x509.ExtKeyUsage{
			x509.ExtKeyUsageAny, x509.ExtKeyUsageOCSPSigning, x509.ExtKeyUsageTimeStamping,
			x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth,
			x509.ExtKeyUsageServerAuth,
		}, nil, "serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning, anyExtendedKeyUsage"},
		{"unknown and unlisted OIDs dropped", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageMicrosoftServerGatedCrypto},
			[]asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 99999, 1}}, "clientAuth"},
		{"only unknown OIDs: present and empty", nil, []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 99999, 1}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := template()
			tmpl.ExtKeyUsage, tmpl.UnknownExtKeyUsage = tc.usages, tc.unknown
			x := parse(t, selfSigned(t, tmpl)).Extensions
			if !x.Has(wire.ExtExtendedKeyUsage) || x.ExtendedKeyUsage != tc.want {
				t.Errorf("extendedKeyUsage present %v %q, want %q", x.Has(wire.ExtExtendedKeyUsage), x.ExtendedKeyUsage, tc.want)
			}
		})
	}
}

func TestAuthorityInfoAccess(t *testing.T) {
	tmpl := template()
	tmpl.OCSPServer = []string{"http://ocsp.example.test"}
	tmpl.IssuingCertificateURL = []string{"http://ca.example.test/ca.der"}
	if got, want := parse(t, selfSigned(t, tmpl)).Extensions.AuthorityInfoAccess,
		"URI:http://ocsp.example.test, URI:http://ca.example.test/ca.der"; got != want {
		t.Errorf("authorityInfoAccess = %q, want %q", got, want)
	}

	tmpl = template()
	tmpl.ExtraExtensions = []pkix.Extension{aiaExtension(t,
		accessDescription{oidIssuer, generalName{6, "http://ca.example.test/1"}},
		accessDescription{oidOCSP, generalName{2, "not-a-uri.example.test"}},
		accessDescription{oidOCSP, generalName{6, "http://ocsp.example.test/2"}},
		accessDescription{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 99}, generalName{6, "http://other.example.test/3"}},
	)}
	x := parse(t, selfSigned(t, tmpl)).Extensions
	if want := "URI:http://ca.example.test/1, URI:http://ocsp.example.test/2, URI:http://other.example.test/3"; !x.Has(wire.ExtAuthorityInfoAccess) || x.AuthorityInfoAccess != want {
		t.Errorf("authorityInfoAccess = %q, want %q (certificate order, URIs only)", x.AuthorityInfoAccess, want)
	}
}

func TestKeyIdentifiers(t *testing.T) {
	ca := template()
	ca.Subject = pkix.Name{CommonName: "Test CA"}
	ca.BasicConstraintsValid, ca.IsCA = true, true
	ca.SubjectKeyId = []byte{0xAB, 0x01, 0xFF}
	leaf := template()
	leaf.SubjectKeyId = []byte{0x0C, 0xDE}
	x := parse(t, create(t, leaf, ca, testKey())).Extensions
	if x.SubjectKeyIdentifier != "keyid:0c:de" || x.AuthorityKeyIdentifier != "keyid:ab:01:ff" ||
		!x.Has(wire.ExtSubjectKeyIdentifier|wire.ExtAuthorityKeyIdentifier) {
		t.Errorf("SKI %q, AKI %q; want keyid:0c:de, keyid:ab:01:ff", x.SubjectKeyIdentifier, x.AuthorityKeyIdentifier)
	}

	// An AKI with only authorityCertSerialNumber [2] has no key identifier.
	tmpl := template()
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidAKI, Value: []byte{0x30, 0x03, 0x82, 0x01, 0x05}}}
	if x := parse(t, selfSigned(t, tmpl)).Extensions; x.Has(wire.ExtAuthorityKeyIdentifier) {
		t.Errorf("authorityKeyIdentifier %q present without a key identifier", x.AuthorityKeyIdentifier)
	}
}

func TestCertificatePolicies(t *testing.T) {
	tmpl := template()
	tmpl.Policies = []x509.OID{mustOID(t, "2.23.140.1.2.1"), mustOID(t, "1.3.6.1.4.1.44947.1.1.1")}
	x := parse(t, selfSigned(t, tmpl)).Extensions
	if want := "Policy: 2.23.140.1.2.1\nPolicy: 1.3.6.1.4.1.44947.1.1.1\n"; !x.Has(wire.ExtCertificatePolicies) || x.CertificatePolicies != want {
		t.Errorf("certificatePolicies = %q, want %q", x.CertificatePolicies, want)
	}
}

func mustOID(t *testing.T, s string) x509.OID {
	t.Helper()
	oid, err := x509.ParseOID(s)
	if err != nil {
		t.Fatal(err)
	}
	return oid
}

func TestPoisonAndAbsentExtensions(t *testing.T) {
	plain := parse(t, selfSigned(t, template())).Extensions
	if plain != (wire.Extensions{}) {
		t.Errorf("certificate without extensions: %+v, want none", plain)
	}
	tmpl := template()
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidPoison, Critical: true, Value: []byte{0x05, 0x00}}}
	if x := parse(t, selfSigned(t, tmpl)).Extensions; !x.CTLPoisonByte || x.Present != 0 {
		t.Errorf("precertificate: %+v, want only ctlPoisonByte", x)
	}
}

func TestMalformed(t *testing.T) {
	der := selfSigned(t, template())
	for _, tc := range []struct {
		name string
		der  []byte
	}{
		{"nil", nil},
		{"not DER", []byte("-----BEGIN CERTIFICATE-----")},
		{"trailing data", append(bytes.Clone(der), 0x00)},
		{"bad basicConstraints", withExtension(t, pkix.Extension{Id: oidBC, Value: []byte{0x30, 0x03, 0x02, 0x01}})},
		{"bad subjectAltName", withExtension(t, pkix.Extension{Id: oidSAN, Value: []byte{0x04, 0x00}})},
		{"mismatching signature algorithms", rebuild(t, der, func(_, outer [][]byte) {
			outer[1] = []byte{0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70}
		})},
	} {
		checkFastPath(t, tc.name, tc.der)
		c, err := certfields.Parse(tc.der)
		if err == nil || c != nil {
			t.Errorf("%s: Parse = %v, %v; want an error", tc.name, c, err)
		} else if !strings.HasPrefix(err.Error(), "certfields: ") {
			t.Errorf("%s: error %q does not say where it comes from", tc.name, err)
		}
	}
	for n := range len(der) {
		if c, err := certfields.Parse(der[:n]); err == nil {
			t.Fatalf("DER truncated to %d of %d bytes parsed: %+v", n, len(der), c)
		}
	}
}

// withExtension is a leaf certificate carrying the extra extension e.
func withExtension(t *testing.T, e pkix.Extension) []byte {
	tmpl := template()
	tmpl.ExtraExtensions = []pkix.Extension{e}
	return selfSigned(t, tmpl)
}
