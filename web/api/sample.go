package api

import "github.com/certstream/certstream/internal/wire"

// Sample is what /example.json shows before the node has published its
// first certificate: a made-up certificate for example.com, in the exact
// shape of a real message. Its source name says it is a sample, its hashes
// are zero and it has no DER.
var Sample = &wire.Update{
	Entry: wire.Entry{
		Type:      wire.X509Entry,
		Index:     0,
		Timestamp: 1767225600000, // 2026-01-01T00:00:00Z
		Leaf: &wire.Cert{
			Subject:            wire.Name{CN: "example.com", Aggregated: "/CN=example.com"},
			Issuer:             wire.Name{C: "US", CN: "Example CA", O: "Example", Aggregated: "/C=US/CN=Example CA/O=Example"},
			SerialNumber:       "01",
			NotBefore:          1767225600,
			NotAfter:           1774915200,
			SignatureAlgorithm: "sha256, rsa",
			AllDomains:         []string{"example.com", "www.example.com"},
			Extensions: wire.Extensions{
				Present:        wire.ExtSubjectAltName | wire.ExtBasicConstraints,
				SubjectAltName: "DNS:example.com, DNS:www.example.com", BasicConstraints: "CA:FALSE",
			},
		},
		Chain: []*wire.Cert{},
	},
	Source:   &wire.Source{Name: "Sample (no certificate received yet)", URL: "https://ct.example.com/sample/"},
	CertLink: "https://ct.example.com/sample/ct/v1/get-entries?start=0&end=0",
	Seen:     1767225600000,
}
