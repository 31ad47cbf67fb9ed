package certfields

import (
	"bytes"
	encasn1 "encoding/asn1"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/certificate-transparency-go/x509"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certstream/certstream/internal/wire"
)

// The fast path reads a certificate with cryptobyte alone. It accepts only a
// strict subset of what the x509 parser accepts — DER everywhere, names of
// PrintableString, UTF8String and IA5String values, UTCTime/GeneralizedTime
// in their "Z" forms, extensions in the shapes CAs issue — so that its strict
// reading of an element can never disagree with the x509 parser's. On
// anything else it gives up and the caller falls back to that parser.

// DER contents of the extension OIDs the fast path distinguishes.
var (
	extSAN      = oidContent(x509.OIDExtensionSubjectAltName)
	extAIA      = oidContent(x509.OIDExtensionAuthorityInfoAccess)
	extAKI      = oidContent(x509.OIDExtensionAuthorityKeyId)
	extSKI      = oidContent(x509.OIDExtensionSubjectKeyId)
	extBC       = oidContent(x509.OIDExtensionBasicConstraints)
	extKU       = oidContent(x509.OIDExtensionKeyUsage)
	extEKU      = oidContent(x509.OIDExtensionExtendedKeyUsage)
	extPolicies = oidContent(x509.OIDExtensionCertificatePolicies)
	extCRLDP    = oidContent(x509.OIDExtensionCRLDistributionPoints)
	extPoison   = oidContent(x509.OIDExtensionCTPoison)
	// Extensions the x509 parser may reject that the fast path does not
	// check: it falls back on them.
	extNameConstraints = oidContent(x509.OIDExtensionNameConstraints)
	extSIA             = oidContent(x509.OIDExtensionSubjectInfoAccess)
	extIPPrefixList    = oidContent(x509.OIDExtensionIPPrefixList)
	extASList          = oidContent(x509.OIDExtensionASList)
)

// parseFast reads the fields of der like parseSlow does. ok is false when der
// holds anything the fast path does not handle with certainty.
func parseFast(der []byte) (c *wire.Cert, dnsNames []string, ok bool) {
	in := cryptobyte.String(der)
	var cert, tbs, algID, tbsAlgID, serial, issuer, validity, subject, spki cryptobyte.String
	var signature encasn1.BitString
	if !in.ReadASN1(&cert, asn1.SEQUENCE) || !in.Empty() ||
		!cert.ReadASN1(&tbs, asn1.SEQUENCE) ||
		!cert.ReadASN1Element(&algID, asn1.SEQUENCE) ||
		!cert.ReadASN1BitString(&signature) || !cert.Empty() ||
		!skipVersion(&tbs) ||
		!tbs.ReadASN1(&serial, asn1.INTEGER) || !minimalInteger(serial) ||
		!tbs.ReadASN1Element(&tbsAlgID, asn1.SEQUENCE) || !bytes.Equal(algID, tbsAlgID) ||
		!tbs.ReadASN1Element(&issuer, asn1.SEQUENCE) ||
		!tbs.ReadASN1(&validity, asn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&subject, asn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&spki, asn1.SEQUENCE) {
		return nil, nil, false
	}
	c = &wire.Cert{SerialNumber: serialHex(serial)}
	var oid string
	if oid, ok = fastSignatureOID(algID); !ok {
		return nil, nil, false
	}
	c.SignatureAlgorithm = signatureAlgorithm(oid)
	if c.Subject, ok = fastName(subject); !ok {
		return nil, nil, false
	}
	if c.Issuer, ok = fastName(issuer); !ok {
		return nil, nil, false
	}
	if c.NotBefore, ok = fastTime(&validity); !ok {
		return nil, nil, false
	}
	if c.NotAfter, ok = fastTime(&validity); !ok || !validity.Empty() {
		return nil, nil, false
	}
	// The same function the x509 parser runs on the key, stricter still (it
	// refuses unknown algorithms and non-fatal errors).
	if _, err := x509.ParsePKIXPublicKey(spki); err != nil {
		return nil, nil, false
	}
	var exts cryptobyte.String
	if !tbs.Empty() { // no issuer/subjectUniqueID: only [3] extensions may follow
		var explicit cryptobyte.String
		if !tbs.ReadASN1(&explicit, asn1.Tag(3).Constructed().ContextSpecific()) || !tbs.Empty() ||
			!explicit.ReadASN1(&exts, asn1.SEQUENCE) || !explicit.Empty() {
			return nil, nil, false
		}
	}
	if dnsNames, ok = fastExtensions(c, exts); !ok {
		return nil, nil, false
	}
	return c, dnsNames, true
}

// skipVersion skips an optional [0] EXPLICIT version of value 0, 1 or 2.
func skipVersion(tbs *cryptobyte.String) bool {
	tag := asn1.Tag(0).Constructed().ContextSpecific()
	if !tbs.PeekASN1Tag(tag) {
		return true
	}
	var explicit cryptobyte.String
	var v int64
	return tbs.ReadASN1(&explicit, tag) && explicit.ReadASN1Integer(&v) && explicit.Empty() && v >= 0 && v <= 2
}

// minimalInteger reports whether content is a non-empty, minimally encoded
// INTEGER.
func minimalInteger(content []byte) bool {
	return len(content) == 1 || len(content) > 1 &&
		!(content[0] == 0 && content[1]&0x80 == 0) && !(content[0] == 0xff && content[1]&0x80 != 0)
}

// validOID reports whether content is a valid OBJECT IDENTIFIER in DER: non
// empty, every arc minimally encoded and below 2^31.
func validOID(content []byte) bool {
	if len(content) == 0 || content[len(content)-1]&0x80 != 0 {
		return false
	}
	var arc int64
	start := true // b starts an arc
	for _, b := range content {
		if start && b == 0x80 {
			return false // leading zero group
		}
		if arc = arc<<7 | int64(b&0x7f); arc > math.MaxInt32 {
			return false
		}
		if start = b&0x80 == 0; start {
			arc = 0
		}
	}
	return true
}

// fastSignatureOID reads a signature AlgorithmIdentifier element whose OID
// certstream names and whose parameters are absent, NULL or a SEQUENCE, and
// returns the dotted OID.
func fastSignatureOID(element cryptobyte.String) (string, bool) {
	var algID cryptobyte.String
	var oid encasn1.ObjectIdentifier
	if !element.ReadASN1(&algID, asn1.SEQUENCE) || !algID.ReadASN1ObjectIdentifier(&oid) {
		return "", false
	}
	switch {
	case algID.Empty():
	case algID.PeekASN1Tag(asn1.NULL):
		var null cryptobyte.String
		if !algID.ReadASN1(&null, asn1.NULL) || !null.Empty() {
			return "", false
		}
	case !algID.SkipASN1(asn1.SEQUENCE):
		return "", false
	}
	dotted := oid.String()
	_, known := signatureAlgorithms[dotted]
	return dotted, known && algID.Empty()
}

// fastName reads a Name element whose attribute values are all valid
// PrintableString, UTF8String or IA5String values.
func fastName(element cryptobyte.String) (n wire.Name, ok bool) {
	var rdns cryptobyte.String
	if !element.ReadASN1(&rdns, asn1.SEQUENCE) || !element.Empty() {
		return n, false
	}
	for !rdns.Empty() {
		var set cryptobyte.String
		if !rdns.ReadASN1(&set, asn1.SET) {
			return n, false
		}
		for !set.Empty() {
			var atv, oid, value cryptobyte.String
			var tag asn1.Tag
			if !set.ReadASN1(&atv, asn1.SEQUENCE) || !atv.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || !validOID(oid) ||
				!atv.ReadAnyASN1(&value, &tag) || !atv.Empty() || !plainString(tag, value) {
				return n, false
			}
			setAttribute(&n, string(oid), string(value))
		}
	}
	n.Aggregated = aggregated(&n)
	return n, true
}

// plainString reports whether value is a string of type tag that the x509
// parser decodes to its own bytes: a valid PrintableString (with '*' and '&',
// as it allows), IA5String or UTF8String.
func plainString(tag asn1.Tag, value []byte) bool {
	switch tag {
	case asn1.PrintableString:
		for _, b := range value {
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || '\'' <= b && b <= ')' ||
				'+' <= b && b <= '/' || b == ' ' || b == ':' || b == '=' || b == '?' || b == '*' || b == '&') {
				return false
			}
		}
		return true
	case asn1.IA5String:
		for _, b := range value {
			if b >= utf8.RuneSelf {
				return false
			}
		}
		return true
	case asn1.UTF8String:
		return utf8.Valid(value)
	}
	return false
}

// fastTime reads a UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime
// "YYYYMMDDHHMMSSZ" holding a valid date and time, as Unix seconds.
func fastTime(s *cryptobyte.String) (int64, bool) {
	var t cryptobyte.String
	var tag asn1.Tag
	if !s.ReadAnyASN1(&t, &tag) || len(t) == 0 || t[len(t)-1] != 'Z' {
		return 0, false
	}
	digits := t[:len(t)-1]
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
	}
	num := func(i int) int { return int(digits[i]-'0')*10 + int(digits[i+1]-'0') }
	var year int
	switch {
	case tag == asn1.UTCTime && len(digits) == 12:
		year = 1900 + num(0)
		if year < 1950 {
			year += 100
		}
		digits = digits[2:]
	case tag == asn1.GeneralizedTime && len(digits) == 14:
		year = num(0)*100 + num(2)
		digits = digits[4:]
	default:
		return 0, false
	}
	month, day, hour, minute, second := time.Month(num(0)), num(2), num(4), num(6), num(8)
	tm := time.Date(year, month, day, hour, minute, second, 0, time.UTC)
	if tm.Year() != year || tm.Month() != month || tm.Day() != day ||
		tm.Hour() != hour || tm.Minute() != minute || tm.Second() != second {
		return 0, false // out of range: normalised by time.Date
	}
	return tm.Unix(), true
}

// fastExtensions fills the certstream extensions and IsCA of c from the
// contents of the Extensions SEQUENCE and returns the subjectAltName
// dNSNames. A repeated extension makes it give up.
func fastExtensions(c *wire.Cert, exts cryptobyte.String) (dnsNames []string, ok bool) {
	x := &c.Extensions
	seen := make([]cryptobyte.String, 0, 16) // extension OIDs so far
	for !exts.Empty() {
		var ext, id, value cryptobyte.String
		var critical bool
		if !exts.ReadASN1(&ext, asn1.SEQUENCE) || !ext.ReadASN1(&id, asn1.OBJECT_IDENTIFIER) || !validOID(id) ||
			ext.PeekASN1Tag(asn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) ||
			!ext.ReadASN1(&value, asn1.OCTET_STRING) || !ext.Empty() ||
			slices.ContainsFunc(seen, func(s cryptobyte.String) bool { return bytes.Equal(s, id) }) {
			return nil, false
		}
		seen = append(seen, id)
		var (
			bit   wire.Extension
			field *string
			v     string
		)
		switch string(id) {
		case extSAN:
			var w sanWriter
			if !fastSAN(&w, value) {
				return nil, false
			}
			dnsNames = w.dnsNames
			if w.kept {
				bit, field, v = wire.ExtSubjectAltName, &x.SubjectAltName, w.b.String()
			}
		case extAIA:
			uris, ok := fastAIA(value)
			if !ok {
				return nil, false
			}
			bit, field, v = wire.ExtAuthorityInfoAccess, &x.AuthorityInfoAccess, uriList(uris)
		case extAKI:
			var aki, keyid cryptobyte.String
			if !value.ReadASN1(&aki, asn1.SEQUENCE) || !value.Empty() ||
				!aki.ReadASN1(&keyid, asn1.Tag(0).ContextSpecific()) || !aki.Empty() || keyid.Empty() {
				return nil, false
			}
			bit, field, v = wire.ExtAuthorityKeyIdentifier, &x.AuthorityKeyIdentifier, keyID(keyid)
		case extSKI:
			var keyid cryptobyte.String
			if !value.ReadASN1(&keyid, asn1.OCTET_STRING) || !value.Empty() {
				return nil, false
			}
			bit, field, v = wire.ExtSubjectKeyIdentifier, &x.SubjectKeyIdentifier, keyID(keyid)
		case extBC:
			var bc cryptobyte.String
			var pathLen int64
			c.IsCA = false
			if !value.ReadASN1(&bc, asn1.SEQUENCE) || !value.Empty() ||
				bc.PeekASN1Tag(asn1.BOOLEAN) && !bc.ReadASN1Boolean(&c.IsCA) ||
				bc.PeekASN1Tag(asn1.INTEGER) && !(bc.ReadASN1Integer(&pathLen) && pathLen >= math.MinInt32 && pathLen <= math.MaxInt32) ||
				!bc.Empty() {
				return nil, false
			}
			bit, field, v = wire.ExtBasicConstraints, &x.BasicConstraints, basicConstraints(c.IsCA)
		case extKU:
			var bits encasn1.BitString
			if !value.ReadASN1BitString(&bits) || !value.Empty() {
				return nil, false
			}
			var usage x509.KeyUsage
			for i := range len(keyUsageNames) {
				if bits.At(i) != 0 {
					usage |= 1 << i
				}
			}
			bit, field, v = wire.ExtKeyUsage, &x.KeyUsage, keyUsage(usage)
		case extEKU:
			usages, ok := fastEKU(value)
			if !ok {
				return nil, false
			}
			bit, field, v = wire.ExtExtendedKeyUsage, &x.ExtendedKeyUsage, extendedKeyUsage(usages)
		case extPolicies:
			policies, ok := fastPolicies(value)
			if !ok {
				return nil, false
			}
			bit, field, v = wire.ExtCertificatePolicies, &x.CertificatePolicies, certificatePolicies(policies)
		case extCRLDP:
			if !fastCRLDistributionPoints(value) {
				return nil, false
			}
		case extPoison:
			x.CTLPoisonByte = true
		case extNameConstraints, extSIA, extIPPrefixList, extASList:
			return nil, false
		}
		if field != nil {
			*field = v
			x.Present |= bit
		}
	}
	return dnsNames, true
}

// GeneralName tags, context-specific and primitive, that the fast path
// accepts in a subjectAltName.
var (
	sanEmail = asn1.Tag(tagRFC822Name).ContextSpecific()
	sanDNS   = asn1.Tag(tagDNSName).ContextSpecific()
	sanIP    = asn1.Tag(tagIPAddress).ContextSpecific()
	uriTag   = asn1.Tag(tagURI).ContextSpecific()
)

// fastSAN writes the entries of a subjectAltName holding only rfc822Name,
// dNSName and iPAddress names to w. (The x509 parser checks URIs, so they
// are left to it.)
func fastSAN(w *sanWriter, value cryptobyte.String) bool {
	var names cryptobyte.String
	if !value.ReadASN1(&names, asn1.SEQUENCE) || !value.Empty() {
		return false
	}
	for !names.Empty() {
		var name cryptobyte.String
		var tag asn1.Tag
		if !names.ReadAnyASN1(&name, &tag) || tag != sanEmail && tag != sanDNS && tag != sanIP {
			return false
		}
		w.add(int(tag&0x1f), name)
	}
	return true
}

// fastAIA returns the URI locations of an authorityInfoAccess whose
// locations are all primitive context-specific GeneralNames.
func fastAIA(value cryptobyte.String) (uris [][]byte, ok bool) {
	var descs cryptobyte.String
	if !value.ReadASN1(&descs, asn1.SEQUENCE) || !value.Empty() {
		return nil, false
	}
	for !descs.Empty() {
		var desc, method, location cryptobyte.String
		var tag asn1.Tag
		if !descs.ReadASN1(&desc, asn1.SEQUENCE) || !desc.ReadASN1(&method, asn1.OBJECT_IDENTIFIER) || !validOID(method) ||
			!desc.ReadAnyASN1(&location, &tag) || !desc.Empty() || tag&0xe0 != 0x80 || tag&0x1f == 0x1f {
			return nil, false
		}
		if tag == uriTag {
			uris = append(uris, location)
		}
	}
	return uris, true
}

// fastEKU returns the usages certstream reports of an extendedKeyUsage.
func fastEKU(value cryptobyte.String) (usages []x509.ExtKeyUsage, ok bool) {
	var oids cryptobyte.String
	if !value.ReadASN1(&oids, asn1.SEQUENCE) || !value.Empty() {
		return nil, false
	}
	for !oids.Empty() {
		var oid cryptobyte.String
		if !oids.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || !validOID(oid) {
			return nil, false
		}
		for _, k := range extKeyUsageNames {
			if string(oid) == k.oid {
				usages = append(usages, k.usage)
			}
		}
	}
	return usages, true
}

// fastPolicies returns the policy OIDs of a certificatePolicies whose
// PolicyInformation entries hold at most a qualifier SEQUENCE after the OID.
func fastPolicies(value cryptobyte.String) (oids []encasn1.ObjectIdentifier, ok bool) {
	var policies cryptobyte.String
	if !value.ReadASN1(&policies, asn1.SEQUENCE) || !value.Empty() {
		return nil, false
	}
	for !policies.Empty() {
		var policy cryptobyte.String
		var oid encasn1.ObjectIdentifier
		if !policies.ReadASN1(&policy, asn1.SEQUENCE) || !policy.ReadASN1ObjectIdentifier(&oid) ||
			!policy.SkipOptionalASN1(asn1.SEQUENCE) || !policy.Empty() {
			return nil, false
		}
		oids = append(oids, oid)
	}
	return oids, true
}

// fastCRLDistributionPoints reports whether a cRLDistributionPoints holds
// only distribution points with a fullName of URIs, which the x509 parser
// accepts. certstream does not report it.
func fastCRLDistributionPoints(value cryptobyte.String) bool {
	var points cryptobyte.String
	if !value.ReadASN1(&points, asn1.SEQUENCE) || !value.Empty() {
		return false
	}
	nameTag := asn1.Tag(0).Constructed().ContextSpecific()
	for !points.Empty() {
		var point, name, fullName cryptobyte.String
		if !points.ReadASN1(&point, asn1.SEQUENCE) || !point.ReadASN1(&name, nameTag) || !point.Empty() ||
			!name.ReadASN1(&fullName, nameTag) || !name.Empty() {
			return false
		}
		for !fullName.Empty() {
			if !fullName.SkipASN1(uriTag) {
				return false
			}
		}
	}
	return true
}
