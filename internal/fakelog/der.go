package fakelog

import (
	"encoding/asn1"
	"fmt"
)

// DER tags used when assembling leaf certificates by hand.
const (
	tagBoolean         = 0x01
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagOctetString     = 0x04
	tagNull            = 0x05
	tagUTF8String      = 0x0c
	tagUTCTime         = 0x17
	tagSequence        = 0x30
	tagSet             = 0x31
	tagContext0        = 0x80 // [0] IMPLICIT primitive
	tagContextDNSName  = 0x82 // [2] IMPLICIT IA5String (GeneralName dNSName)
	tagContextURI      = 0x86 // [6] IMPLICIT IA5String (GeneralName uniformResourceIdentifier)
	tagExplicit0       = 0xa0 // [0] EXPLICIT constructed
	tagExplicit3       = 0xa3 // [3] EXPLICIT constructed
	derLengthShortForm = 0x80
)

// der encodes one TLV whose content is the concatenation of parts.
func der(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+6)
	out = append(out, tag)
	out = appendDERLength(out, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// appendDERLength appends a definite-form DER length.
func appendDERLength(b []byte, n int) []byte {
	switch {
	case n < derLengthShortForm:
		return append(b, byte(n))
	case n < 1<<8:
		return append(b, 0x81, byte(n))
	case n < 1<<16:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

// derOID encodes an OBJECT IDENTIFIER given as dotted arcs.
func derOID(arcs ...int) []byte {
	b, err := asn1.Marshal(asn1.ObjectIdentifier(arcs))
	if err != nil {
		panic(fmt.Sprintf("fakelog: bad constant OID %v: %v", arcs, err)) // constants only
	}
	return b
}

// derExtension encodes an X.509 Extension with the given DER value.
func derExtension(oid []byte, critical bool, value []byte) []byte {
	if critical {
		return der(tagSequence, oid, []byte{tagBoolean, 1, 0xff}, der(tagOctetString, value))
	}
	return der(tagSequence, oid, der(tagOctetString, value))
}
