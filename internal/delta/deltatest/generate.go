package deltatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

// Generated returns n updates whose leaves are freshly generated, all
// distinct, shaped like a typical Web PKI leaf: P-256 key, 16-byte random
// serial, two DNS names, AIA, key identifiers, EKU, a policy, and an SCT
// list extension of random bytes as large as a real two-SCT list. It
// measures the archive's bytes per row honestly, which the cycled real
// fixtures cannot (their repeats compress away). Chains are the real
// two-certificate chain of Updates.
func Generated(t testing.TB, n int, first uint64, seenMillis int64) []*wire.Update {
	t.Helper()
	chain := realEntries(t)[0].Chain
	issuerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer := &x509.Certificate{Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"Test CA"}, CommonName: "Test Issuing CA E1"},
		SubjectKeyId: []byte("0123456789abcdefghij")}
	sctOID := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	src := &wire.Source{Name: "Generated Log", URL: "https://ct.example/gen/"}
	out := make([]*wire.Update, n)
	notBefore := time.UnixMilli(seenMillis).Add(-time.Hour).Truncate(time.Second)
	for i := range out {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		sct := make([]byte, 240)
		rand.Read(sct)
		sctValue, _ := asn1.Marshal(sct)
		host := fmt.Sprintf("host%d-%x.example.com", i, serial.Bytes()[:3])
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: host},
			NotBefore:             notBefore,
			NotAfter:              notBefore.Add(90 * 24 * time.Hour),
			DNSNames:              []string{host, "www." + host},
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			BasicConstraintsValid: true,
			IssuingCertificateURL: []string{"http://e1.i.ca.example/"},
			PolicyIdentifiers:     []asn1.ObjectIdentifier{{2, 23, 140, 1, 2, 1}},
			ExtraExtensions:       []pkix.Extension{{Id: sctOID, Value: sctValue}},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, issuerKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := certfields.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		idx := first + uint64(i)
		out[i] = &wire.Update{
			Entry:  wire.Entry{Type: wire.X509Entry, Index: idx, Timestamp: uint64(seenMillis) - 500, Leaf: leaf, Chain: chain},
			Source: src, Seen: seenMillis + int64(i),
			CertLink: fmt.Sprintf("https://ct.example/gen/ct/v1/get-entries?start=%d&end=%d", idx, idx),
		}
	}
	return out
}
