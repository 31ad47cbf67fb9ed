package certfields

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/certstream/certstream/messages"
	"github.com/google/certificate-transparency-go/asn1"
	"github.com/google/certificate-transparency-go/x509"
)

// fillExtensions fills the certstream extensions object of xc into x and
// returns the subjectAltName dNSNames in certificate order. When an
// extension is repeated, the last one wins.
func fillExtensions(x *messages.Extensions, xc *x509.Certificate) (dnsNames []string, err error) {
	for _, e := range xc.Extensions {
		var (
			bit   messages.Extension
			field *string
			value string
		)
		switch {
		case e.Id.Equal(x509.OIDExtensionAuthorityInfoAccess):
			bit, field = messages.ExtAuthorityInfoAccess, &x.AuthorityInfoAccess
			value, err = authorityInfoAccess(e.Value)
		case e.Id.Equal(x509.OIDExtensionAuthorityKeyId):
			if xc.AuthorityKeyId == nil {
				continue // no keyIdentifier: the key is absent
			}
			bit, field = messages.ExtAuthorityKeyIdentifier, &x.AuthorityKeyIdentifier
			value = keyID(xc.AuthorityKeyId)
		case e.Id.Equal(x509.OIDExtensionBasicConstraints):
			bit, field = messages.ExtBasicConstraints, &x.BasicConstraints
			value = "CA:FALSE"
			if xc.IsCA {
				value = "CA:TRUE"
			}
		case e.Id.Equal(x509.OIDExtensionCertificatePolicies):
			bit, field = messages.ExtCertificatePolicies, &x.CertificatePolicies
			value = certificatePolicies(xc)
		case e.Id.Equal(x509.OIDExtensionExtendedKeyUsage):
			bit, field = messages.ExtExtendedKeyUsage, &x.ExtendedKeyUsage
			value = extendedKeyUsage(xc.ExtKeyUsage)
		case e.Id.Equal(x509.OIDExtensionKeyUsage):
			bit, field = messages.ExtKeyUsage, &x.KeyUsage
			value = keyUsage(xc.KeyUsage)
		case e.Id.Equal(x509.OIDExtensionSubjectAltName):
			var kept bool
			value, dnsNames, kept, err = subjectAltName(e.Value)
			if err != nil {
				return nil, err
			}
			if !kept { // only name types certstream does not report
				x.Present &^= messages.ExtSubjectAltName
				x.SubjectAltName = ""
				continue
			}
			bit, field = messages.ExtSubjectAltName, &x.SubjectAltName
		case e.Id.Equal(x509.OIDExtensionSubjectKeyId):
			bit, field = messages.ExtSubjectKeyIdentifier, &x.SubjectKeyIdentifier
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
// fixed order; any other purpose is dropped.
var extKeyUsageNames = [...]struct {
	usage x509.ExtKeyUsage
	name  string
}{
	{x509.ExtKeyUsageServerAuth, "serverAuth"},
	{x509.ExtKeyUsageClientAuth, "clientAuth"},
	{x509.ExtKeyUsageCodeSigning, "codeSigning"},
	{x509.ExtKeyUsageEmailProtection, "emailProtection"},
	{x509.ExtKeyUsageTimeStamping, "timeStamping"},
	{x509.ExtKeyUsageOCSPSigning, "OCSPSigning"},
	{x509.ExtKeyUsageAny, "anyExtendedKeyUsage"},
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
func certificatePolicies(xc *x509.Certificate) string {
	var b strings.Builder
	for _, oid := range xc.PolicyIdentifiers {
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

// subjectAltName formats a subjectAltName extension value in certificate
// order ("DNS:..", "email:..", "IP Address:.." joined with ", "; other name
// types and IP addresses of a length other than 4 or 16 are skipped) and
// returns its dNSNames. kept reports whether at least one entry was kept.
func subjectAltName(value []byte) (san string, dnsNames []string, kept bool, err error) {
	var names asn1.RawValue
	rest, err := asn1.Unmarshal(value, &names)
	if err != nil {
		return "", nil, false, fmt.Errorf("certfields: subjectAltName: %w", err)
	}
	if len(rest) != 0 || names.Class != asn1.ClassUniversal || names.Tag != asn1.TagSequence || !names.IsCompound {
		return "", nil, false, errors.New("certfields: subjectAltName is not a single SEQUENCE")
	}
	var b strings.Builder
	add := func(prefix, v string) {
		if kept {
			b.WriteString(", ")
		}
		kept = true
		b.WriteString(prefix)
		b.WriteString(v)
	}
	for i, rest := 0, names.Bytes; len(rest) > 0; i++ {
		var name asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &name); err != nil {
			return "", nil, false, fmt.Errorf("certfields: subjectAltName GeneralName #%d: %w", i, err)
		}
		if name.Class != asn1.ClassContextSpecific {
			continue
		}
		switch name.Tag {
		case tagDNSName:
			dns := text(name.Bytes)
			dnsNames = append(dnsNames, dns)
			add("DNS:", dns)
		case tagRFC822Name:
			add("email:", text(name.Bytes))
		case tagIPAddress:
			if ip, ok := netip.AddrFromSlice(name.Bytes); ok {
				add("IP Address:", ip.String())
			}
		}
	}
	return b.String(), dnsNames, kept, nil
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
	var uris []string
	for _, d := range descs {
		if d.Location.Class == asn1.ClassContextSpecific && d.Location.Tag == tagURI {
			uris = append(uris, "URI:"+text(d.Location.Bytes))
		}
	}
	return strings.Join(uris, ", "), nil
}
