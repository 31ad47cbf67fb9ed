package certfields

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/certificate-transparency-go/asn1"
	"github.com/google/certificate-transparency-go/x509"

	"github.com/certstream/certstream/internal/wire"
)

// fillExtensions fills the certstream extensions object of xc into x and
// returns the subjectAltName dNSNames in certificate order. When an
// extension is repeated, the last one wins.
func fillExtensions(x *wire.Extensions, xc *x509.Certificate) (dnsNames []string, err error) {
	for _, e := range xc.Extensions {
		var (
			bit   wire.Extension
			field *string
			value string
		)
		switch {
		case e.Id.Equal(x509.OIDExtensionAuthorityInfoAccess):
			bit, field = wire.ExtAuthorityInfoAccess, &x.AuthorityInfoAccess
			value, err = authorityInfoAccess(e.Value)
		case e.Id.Equal(x509.OIDExtensionAuthorityKeyId):
			if xc.AuthorityKeyId == nil {
				continue // no keyIdentifier: the key is absent
			}
			bit, field = wire.ExtAuthorityKeyIdentifier, &x.AuthorityKeyIdentifier
			value = keyID(xc.AuthorityKeyId)
		case e.Id.Equal(x509.OIDExtensionBasicConstraints):
			bit, field = wire.ExtBasicConstraints, &x.BasicConstraints
			value = basicConstraints(xc.IsCA)
		case e.Id.Equal(x509.OIDExtensionCertificatePolicies):
			bit, field = wire.ExtCertificatePolicies, &x.CertificatePolicies
			value = certificatePolicies(xc.PolicyIdentifiers)
		case e.Id.Equal(x509.OIDExtensionExtendedKeyUsage):
			bit, field = wire.ExtExtendedKeyUsage, &x.ExtendedKeyUsage
			value = extendedKeyUsage(xc.ExtKeyUsage)
		case e.Id.Equal(x509.OIDExtensionKeyUsage):
			bit, field = wire.ExtKeyUsage, &x.KeyUsage
			value = keyUsage(xc.KeyUsage)
		case e.Id.Equal(x509.OIDExtensionSubjectAltName):
			var kept bool
			value, dnsNames, kept, err = subjectAltName(e.Value)
			if err != nil {
				return nil, err
			}
			if !kept { // only name types certstream does not report
				x.Present &^= wire.ExtSubjectAltName
				x.SubjectAltName = ""
				continue
			}
			bit, field = wire.ExtSubjectAltName, &x.SubjectAltName
		case e.Id.Equal(x509.OIDExtensionSubjectKeyId):
			bit, field = wire.ExtSubjectKeyIdentifier, &x.SubjectKeyIdentifier
			value = keyID(xc.SubjectKeyId)
		case e.Id.Equal(x509.OIDExtensionCTPoison):
			x.CTLPoisonByte = true
		}
		if err != nil {
			return nil, err
		}
		if field != nil {
			*field = value
			x.Present |= bit
		}
	}
	return dnsNames, nil
}

// basicConstraints is the certstream basicConstraints value.
func basicConstraints(isCA bool) string {
	if isCA {
		return "CA:TRUE"
	}
	return "CA:FALSE"
}

// keyUsageNames are the KeyUsage bits in certstream order; bit i of
// x509.KeyUsage is keyUsageNames[i].
var keyUsageNames = [...]string{
	"Digital Signature", "Content Commitment", "Key Encipherment", "Data Encipherment",
	"Key Agreement", "Certificate Signing", "CRL Signing", "Encipher Only", "Decipher Only",
}

// keyUsage joins the names of the set bits with ", ".
func keyUsage(ku x509.KeyUsage) string {
	var names []string
	for i, name := range keyUsageNames {
		if ku&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// extKeyUsageNames are the extended key usages certstream reports, in its
// fixed order, with the DER content of their OIDs; any other purpose is
// dropped.
var extKeyUsageNames = [...]struct {
	usage x509.ExtKeyUsage
	oid   string
	name  string
}{
	{x509.ExtKeyUsageServerAuth, oidContent(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}), "serverAuth"},
	{x509.ExtKeyUsageClientAuth, oidContent(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}), "clientAuth"},
	{x509.ExtKeyUsageCodeSigning, oidContent(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}), "codeSigning"},
	{x509.ExtKeyUsageEmailProtection, oidContent(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}), "emailProtection"},
	{x509.ExtKeyUsageTimeStamping, oidContent(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}), "timeStamping"},
	{x509.ExtKeyUsageOCSPSigning, oidContent(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}), "OCSPSigning"},
	{x509.ExtKeyUsageAny, oidContent(asn1.ObjectIdentifier{2, 5, 29, 37, 0}), "anyExtendedKeyUsage"},
}

// extendedKeyUsage joins the known usages present in eku with ", ", in
// certstream order.
func extendedKeyUsage(eku []x509.ExtKeyUsage) string {
	var names []string
	for _, k := range extKeyUsageNames {
		for _, u := range eku {
			if u == k.usage {
				names = append(names, k.name)
				break
			}
		}
	}
	return strings.Join(names, ", ")
}

// certificatePolicies is "Policy: <oid>\n" per policy, concatenated.
func certificatePolicies[OID fmt.Stringer](oids []OID) string {
	var b strings.Builder
	for _, oid := range oids {
		b.WriteString("Policy: ")
		b.WriteString(oid.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// keyID is "keyid:" followed by lowercase hex pairs joined with ':'.
func keyID(id []byte) string {
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, len("keyid:")+3*len(id))
	b = append(b, "keyid:"...)
	for i, c := range id {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return string(b)
}

// The subjectAltName and authorityInfoAccess values are walked with the same
// ASN.1 decoder and structure as the x509 parser uses, so that every value it
// accepted is accepted here too; only the entry order, which it loses, is new.

// GeneralName CHOICE tags (RFC 5280 4.2.1.6) that certstream reports, all
// context-specific.
const (
	tagRFC822Name = 1 // IA5String
	tagDNSName    = 2 // IA5String
	tagURI        = 6 // IA5String
	tagIPAddress  = 7 // OCTET STRING
)

// sanWriter formats subjectAltName entries in certificate order ("DNS:..",
// "email:..", "IP Address:.." joined with ", ") and collects the dNSNames.
type sanWriter struct {
	b        strings.Builder
	dnsNames []string
	kept     bool // at least one entry was written
}

// add formats the context-specific GeneralName with the given tag number and
// content; other name types and IP addresses of a length other than 4 or 16
// are skipped.
func (w *sanWriter) add(tag int, content []byte) {
	var prefix, v string
	switch tag {
	case tagDNSName:
		v = text(content)
		w.dnsNames = append(w.dnsNames, v)
		prefix = "DNS:"
	case tagRFC822Name:
		prefix, v = "email:", text(content)
	case tagIPAddress:
		ip, ok := netip.AddrFromSlice(content)
		if !ok {
			return
		}
		prefix, v = "IP Address:", ip.String()
	default:
		return
	}
	if w.kept {
		w.b.WriteString(", ")
	}
	w.kept = true
	w.b.WriteString(prefix)
	w.b.WriteString(v)
}

// subjectAltName formats a subjectAltName extension value with a sanWriter
// and returns its dNSNames. kept reports whether at least one entry was kept.
func subjectAltName(value []byte) (san string, dnsNames []string, kept bool, err error) {
	var names asn1.RawValue
	rest, err := asn1.Unmarshal(value, &names)
	if err != nil {
		return "", nil, false, fmt.Errorf("certfields: subjectAltName: %w", err)
	}
	if len(rest) != 0 || names.Class != asn1.ClassUniversal || names.Tag != asn1.TagSequence || !names.IsCompound {
		return "", nil, false, errors.New("certfields: subjectAltName is not a single SEQUENCE")
	}
	var w sanWriter
	for i, rest := 0, names.Bytes; len(rest) > 0; i++ {
		var name asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &name); err != nil {
			return "", nil, false, fmt.Errorf("certfields: subjectAltName GeneralName #%d: %w", i, err)
		}
		if name.Class == asn1.ClassContextSpecific {
			w.add(name.Tag, name.Bytes)
		}
	}
	return w.b.String(), w.dnsNames, w.kept, nil
}

// accessDescription is an AuthorityInfoAccess entry (RFC 5280 4.2.2.1).
type accessDescription struct {
	Method   asn1.ObjectIdentifier
	Location asn1.RawValue
}

// authorityInfoAccess is "URI:<uri>" for every access description whose
// location is a URI (OCSP and CA issuers alike), certificate order, joined
// with ", ".
func authorityInfoAccess(value []byte) (string, error) {
	var descs []accessDescription
	rest, err := asn1.Unmarshal(value, &descs)
	if err != nil {
		return "", fmt.Errorf("certfields: authorityInfoAccess: %w", err)
	}
	if len(rest) != 0 {
		return "", errors.New("certfields: trailing data after authorityInfoAccess")
	}
	var uris [][]byte
	for _, d := range descs {
		if d.Location.Class == asn1.ClassContextSpecific && d.Location.Tag == tagURI {
			uris = append(uris, d.Location.Bytes)
		}
	}
	return uriList(uris), nil
}

// uriList is the certstream authorityInfoAccess value of the URI locations
// uris: "URI:<uri>" each, joined with ", ".
func uriList(uris [][]byte) string {
	var b strings.Builder
	for i, u := range uris {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("URI:")
		b.WriteString(text(u))
	}
	return b.String()
}
