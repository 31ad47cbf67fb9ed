package certfields

import (
	"strings"

	"github.com/certstream/certstream/messages"
	"github.com/google/certificate-transparency-go/asn1"
	"github.com/google/certificate-transparency-go/x509/pkix"
)

// Name attribute OIDs that certstream reports.
var (
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidCountry      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidLocality     = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidProvince     = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit      = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// nameOf builds a certstream subject/issuer from every attribute of every RDN
// in certificate order: for a repeated attribute the last value wins,
// attributes of other types or with non-string values are ignored. Values are
// made valid UTF-8 (T61String contents are raw bytes) as text does.
func nameOf(attrs []pkix.AttributeTypeAndValue) messages.Name {
	var n messages.Name
	for _, a := range attrs {
		v, ok := a.Value.(string)
		if !ok {
			continue
		}
		if field := nameField(&n, a.Type); field != nil {
			*field = strings.ToValidUTF8(v, "\uFFFD")
		}
	}
	n.Aggregated = aggregated(&n)
	return n
}

// nameField returns the field of n that attribute type t fills, or nil.
func nameField(n *messages.Name, t asn1.ObjectIdentifier) *string {
	switch {
	case t.Equal(oidCommonName):
		return &n.CN
	case t.Equal(oidCountry):
		return &n.C
	case t.Equal(oidLocality):
		return &n.L
	case t.Equal(oidProvince):
		return &n.ST
	case t.Equal(oidOrganization):
		return &n.O
	case t.Equal(oidOrgUnit):
		return &n.OU
	case t.Equal(oidEmailAddress):
		return &n.EmailAddress
	}
	return nil
}

// aggregated is "/C=../CN=../L=../O=../OU=../ST=.." of the non-empty fields,
// in this fixed order; the email address is not included.
func aggregated(n *messages.Name) string {
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
