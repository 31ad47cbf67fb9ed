// Package wire is the certstream wire format: the decoded certificate and
// update types, the byte-exact JSON encoders of the lite, full and
// domains-only messages and heartbeats, and the framing of a message for a
// WebSocket or an SSE client. It is plain code: no actor framework.
package wire

// EntryType is the type of a CT log entry (RFC 6962 LogEntryType).
type EntryType uint8

// The two CT entry types.
const (
	X509Entry    EntryType = 0
	PrecertEntry EntryType = 1
)

// UpdateType is the certstream "update_type" value for the entry type.
func (t EntryType) UpdateType() string {
	if t == PrecertEntry {
		return "PrecertLogEntry"
	}
	return "X509LogEntry"
}

// Name is a certificate subject or issuer as certstream reports it. Empty
// fields are omitted on the wire, except Aggregated which is always written.
type Name struct {
	C, CN, L, O, OU, ST, EmailAddress string
	// Aggregated is "/C=../CN=../L=../O=../OU=../ST=.." of the present fields.
	Aggregated string
}

// Extension is a bit naming one certstream extension key.
type Extension uint16

// The certstream extension keys, in wire order.
const (
	ExtAuthorityInfoAccess Extension = 1 << iota
	ExtAuthorityKeyIdentifier
	ExtBasicConstraints
	ExtCertificatePolicies
	ExtCTLSignedCertificateTimestamp
	ExtExtendedKeyUsage
	ExtKeyUsage
	ExtSubjectAltName
	ExtSubjectKeyIdentifier
)

// Extensions holds the certstream "extensions" object. A string field is
// written only when its bit is set in Present (a present value may be "");
// CTLPoisonByte is written only when true.
type Extensions struct {
	Present                       Extension
	AuthorityInfoAccess           string
	AuthorityKeyIdentifier        string
	BasicConstraints              string
	CertificatePolicies           string
	CTLSignedCertificateTimestamp string
	ExtendedKeyUsage              string
	KeyUsage                      string
	SubjectAltName                string
	SubjectKeyIdentifier          string
	CTLPoisonByte                 bool
}

// Has reports whether the extension key e is present.
func (x *Extensions) Has(e Extension) bool { return x.Present&e != 0 }

// Cert is one certificate with every field of the certstream wire format
// already extracted. Certs in a chain are shared between entries; never
// modify one after it is built.
type Cert struct {
	DER                []byte
	Subject, Issuer    Name
	SerialNumber       string // uppercase hex, minimal magnitude, "00" for zero
	NotBefore          int64  // Unix seconds
	NotAfter           int64  // Unix seconds
	SHA1               [20]byte
	SHA256             [32]byte
	SignatureAlgorithm string
	IsCA               bool
	AllDomains         []string // leaf certificates only; nil for chain certs is fine
	Extensions         Extensions
}

// Entry is one decoded CT log entry: what a log says, before the node adds
// where and when it saw it.
type Entry struct {
	Type      EntryType
	Index     uint64
	Timestamp uint64 // the log's TimestampedEntry.timestamp, Unix milliseconds
	// Leaf is the certificate the message describes: the leaf for X509
	// entries, the submitted pre-certificate (poison included) for precerts.
	Leaf *Cert
	// Chain is the issuer chain, issuer first. nil means "no chain key on the
	// wire"; a non-nil empty slice is written as "chain":[] (RFC 6962 always
	// writes the key, static-ct omits it when empty).
	Chain []*Cert
}
