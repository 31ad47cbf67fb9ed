package certfields

import (
	encasn1 "encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// rawFields are the parts of a certificate the x509 parser does not keep
// verbatim.
type rawFields struct {
	serial       []byte // content octets of the serialNumber INTEGER
	signatureOID string // dotted outer signatureAlgorithm OID; "" if unreadable
}

// readRaw reads the serial number and the outer signature algorithm OID from
// the certificate DER.
func readRaw(der []byte) (rawFields, error) {
	var f rawFields
	input := cryptobyte.String(der)
	var cert, tbs, algID cryptobyte.String
	if !input.ReadASN1(&cert, asn1.SEQUENCE) {
		return f, errors.New("certfields: certificate is not a DER SEQUENCE")
	}
	if !cert.ReadASN1(&tbs, asn1.SEQUENCE) {
		return f, errors.New("certfields: malformed tbsCertificate")
	}
	if !cert.ReadASN1(&algID, asn1.SEQUENCE) {
		return f, errors.New("certfields: malformed outer signatureAlgorithm")
	}
	if !tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) {
		return f, errors.New("certfields: malformed tbsCertificate version")
	}
	var serial cryptobyte.String
	if !tbs.ReadASN1(&serial, asn1.INTEGER) {
		return f, errors.New("certfields: malformed tbsCertificate serialNumber")
	}
	f.serial = serial
	var oid encasn1.ObjectIdentifier
	if algID.ReadASN1ObjectIdentifier(&oid) {
		f.signatureOID = oid.String()
	}
	return f, nil
}

// oidContent is the DER content octets of oid, or "" if oid cannot be
// encoded (an empty OID, as the lax x509 parser may return).
func oidContent(oid []int) string {
	var b cryptobyte.Builder
	b.AddASN1ObjectIdentifier(oid)
	der, err := b.Bytes()
	s := cryptobyte.String(der)
	var content cryptobyte.String
	if err != nil || !s.ReadASN1(&content, asn1.OBJECT_IDENTIFIER) {
		return ""
	}
	return string(content)
}

// serialHex is the certstream serial_number: uppercase hex of the INTEGER
// content octets read as an unsigned big-endian number with leading zero
// bytes (the DER sign byte) dropped; "00" for zero. A (non-conforming)
// negative serial is thereby shown as its two's-complement bytes.
func serialHex(content []byte) string {
	for len(content) > 0 && content[0] == 0 {
		content = content[1:]
	}
	if len(content) == 0 {
		return "00"
	}
	return fmt.Sprintf("%X", content)
}

// signatureAlgorithms maps outer signature OIDs to certstream names.
var signatureAlgorithms = map[string]string{
	"1.2.840.113549.1.1.2":   "md2, rsa",
	"1.2.840.113549.1.1.4":   "md5, rsa",
	"1.2.840.113549.1.1.5":   "sha1, rsa",
	"1.2.840.113549.1.1.11":  "sha256, rsa",
	"1.2.840.113549.1.1.12":  "sha384, rsa",
	"1.2.840.113549.1.1.13":  "sha512, rsa",
	"1.2.840.113549.1.1.10":  "sha256, rsa-pss",
	"1.2.840.10040.4.3":      "dsa, sha1",
	"2.16.840.1.101.3.4.3.2": "dsa, sha256",
	"1.2.840.10045.4.1":      "ecdsa, sha1",
	"1.2.840.10045.4.3.2":    "ecdsa, sha256",
	"1.2.840.10045.4.3.3":    "ecdsa, sha384",
	"1.2.840.10045.4.3.4":    "ecdsa, sha512",
	"1.3.101.112":            "ed25519",
}

// signatureAlgorithm is the certstream signature_algorithm for a dotted OID.
func signatureAlgorithm(oid string) string {
	if name, ok := signatureAlgorithms[oid]; ok {
		return name
	}
	return "unknown"
}
