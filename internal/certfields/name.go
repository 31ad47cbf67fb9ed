package certfields

import (
	"strings"

	"github.com/google/certificate-transparency-go/asn1"
	"github.com/google/certificate-transparency-go/x509/pkix"

	"github.com/certstream/certstream/internal/wire"
)

// DER contents of the name attribute OIDs that certstream reports.
var (
	oidCommonName   = oidContent(asn1.ObjectIdentifier{2, 5, 4, 3})
	oidCountry      = oidContent(asn1.ObjectIdentifier{2, 5, 4, 6})
	oidLocality     = oidContent(asn1.ObjectIdentifier{2, 5, 4, 7})
	oidProvince     = oidContent(asn1.ObjectIdentifier{2, 5, 4, 8})
	oidOrganization = oidContent(asn1.ObjectIdentifier{2, 5, 4, 10})
	oidOrgUnit      = oidContent(asn1.ObjectIdentifier{2, 5, 4, 11})
	oidEmailAddress = oidContent(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1})
)

// nameOf builds a certstream subject/issuer from every attribute of every RDN
// in certificate order: for a repeated attribute the last value wins,
// attributes of other types or with non-string values are ignored. Values are
// made valid UTF-8 (T61String contents are raw bytes) as text does.
func nameOf(attrs []pkix.AttributeTypeAndValue) wire.Name {
	var n wire.Name
	for _, a := range attrs {
		v, ok := a.Value.(string)
		if !ok {
			continue
		}
		setAttribute(&n, oidContent(a.Type), v)
	}
	n.Aggregated = aggregated(&n)
	return n
}

// setAttribute stores the string value v of the attribute whose type OID has
// the DER content oid in n, made valid UTF-8 as text does; attributes of
// other types are ignored.
func setAttribute(n *wire.Name, oid, v string) {
	if field := nameField(n, oid); field != nil {
		*field = strings.ToValidUTF8(v, "\uFFFD")
	}
}

// nameField returns the field of n that the attribute type with OID content
// oid fills, or nil.
func nameField(n *wire.Name, oid string) *string {
	switch oid {
	case oidCommonName:
		return &n.CN
	case oidCountry:
		return &n.C
	case oidLocality:
		return &n.L
	case oidProvince:
		return &n.ST
	case oidOrganization:
		return &n.O
	case oidOrgUnit:
		return &n.OU
	case oidEmailAddress:
		return &n.EmailAddress
	}
	return nil
}

// aggregated is "/C=../CN=../L=../O=../OU=../ST=.." of the non-empty fields,
// in this fixed order; the email address is not included.
func aggregated(n *wire.Name) string {
	var b strings.Builder
	for _, f := range [...]struct{ key, value string }{
		{"/C=", n.C}, {"/CN=", n.CN}, {"/L=", n.L}, {"/O=", n.O}, {"/OU=", n.OU}, {"/ST=", n.ST},
	} {
		if f.value != "" {
			b.WriteString(f.key)
			b.WriteString(f.value)
		}
	}
	return b.String()
}
