package wire

import (
	"encoding/base64"
	"strconv"
)

// The certstream wire encoder. Each Append function appends one compact JSON
// document to dst, in exactly the shape of wire-format.md (key order, omitted
// optional keys, number and string formats), and returns the extended slice.
// With a reused dst of sufficient capacity they do not allocate.
//
// The leaf of a precert entry is written with "ctlPoisonByte":true (the wire
// rule for precert entries) whether or not its Cert carries the poison
// extension. A nil Update.Leaf or Update.Source is written as if it were the
// zero value, so the output is always a complete, valid document.

// AppendFull appends the full-stream certificate_update message for u: the
// leaf with "as_der", and "chain" when u.Chain is non-nil (a non-nil empty
// chain is written as "chain":[]).
func AppendFull(dst []byte, u *Update) []byte {
	return appendUpdate(dst, u, true)
}

// AppendLite appends the lite-stream certificate_update message for u: no
// "as_der" and no "chain".
func AppendLite(dst []byte, u *Update) []byte {
	return appendUpdate(dst, u, false)
}

// AppendDomainsOnly appends the dns_entries message for u: the leaf's
// all_domains.
func AppendDomainsOnly(dst []byte, u *Update) []byte {
	dst = append(dst, `{"message_type":"dns_entries","data":`...)
	dst = appendStrings(dst, leafOf(u).AllDomains)
	return append(dst, '}')
}

// AppendHeartbeat appends a heartbeat message whose timestamp is unixMillis
// written as seconds.
func AppendHeartbeat(dst []byte, unixMillis int64) []byte {
	dst = append(dst, `{"message_type":"heartbeat","timestamp":`...)
	dst = appendSeconds(dst, unixMillis)
	return append(dst, '}')
}

// emptyCert and emptySource stand in for nil pointers.
var (
	emptyCert   Cert
	emptySource Source
)

func leafOf(u *Update) *Cert {
	if u.Leaf == nil {
		return &emptyCert
	}
	return u.Leaf
}

// certFields selects the optional LeafCert keys.
type certFields struct {
	allDomains bool // "all_domains": leaf certificates
	asDER      bool // "as_der": leaf certificate on the full stream
	poison     bool // "ctlPoisonByte":true even if the Cert lacks it: precert entries
}

func appendUpdate(dst []byte, u *Update, full bool) []byte {
	dst = append(dst, `{"message_type":"certificate_update","data":{"update_type":`...)
	dst = appendString(dst, u.Type.UpdateType())
	dst = append(dst, `,"leaf_cert":`...)
	dst = appendCert(dst, leafOf(u), certFields{allDomains: true, asDER: full, poison: u.Type == PrecertEntry})
	if full && u.Chain != nil {
		dst = append(dst, `,"chain":[`...)
		for i, c := range u.Chain {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendChainCert(dst, c)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"cert_index":`...)
	dst = strconv.AppendUint(dst, u.Index, 10)
	dst = append(dst, `,"cert_link":`...)
	dst = appendString(dst, u.CertLink)
	dst = append(dst, `,"seen":`...)
	dst = appendSeconds(dst, u.Seen)
	dst = append(dst, `,"submission_timestamp":`...)
	dst = appendUnsignedSeconds(dst, u.Timestamp)
	src := u.Source
	if src == nil {
		src = &emptySource
	}
	dst = append(dst, `,"source":{"name":`...)
	dst = appendString(dst, src.Name)
	dst = append(dst, `,"url":`...)
	dst = appendString(dst, src.URL)
	return append(dst, "}}}"...)
}

// AppendChainCert appends c as a ChainCert object, exactly as it appears in
// the full stream's "chain" array.
// A nil c is written as an empty certificate, as in the stream.
func AppendChainCert(dst []byte, c *Cert) []byte {
	if c == nil {
		c = &emptyCert
	}
	return appendCert(dst, c, certFields{})
}

// appendCert appends a LeafCert object, or a ChainCert object when f selects
// neither optional key.
func appendCert(dst []byte, c *Cert, f certFields) []byte {
	dst = append(dst, `{"subject":`...)
	dst = appendName(dst, &c.Subject)
	dst = append(dst, `,"issuer":`...)
	dst = appendName(dst, &c.Issuer)
	dst = append(dst, `,"serial_number":`...)
	dst = appendString(dst, c.SerialNumber)
	dst = append(dst, `,"not_before":`...)
	dst = strconv.AppendInt(dst, c.NotBefore, 10)
	dst = append(dst, `,"not_after":`...)
	dst = strconv.AppendInt(dst, c.NotAfter, 10)
	dst = append(dst, `,"fingerprint":`...)
	dst = appendHexPairs(dst, c.SHA1[:])
	dst = append(dst, `,"sha1":`...)
	dst = appendHexPairs(dst, c.SHA1[:])
	dst = append(dst, `,"sha256":`...)
	dst = appendHexPairs(dst, c.SHA256[:])
	dst = append(dst, `,"signature_algorithm":`...)
	dst = appendString(dst, c.SignatureAlgorithm)
	dst = append(dst, `,"is_ca":`...)
	dst = appendBool(dst, c.IsCA)
	if f.allDomains {
		dst = append(dst, `,"all_domains":`...)
		dst = appendStrings(dst, c.AllDomains)
	}
	if f.asDER {
		dst = append(dst, `,"as_der":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, c.DER)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"extensions":`...)
	dst = appendExtensions(dst, &c.Extensions, c.Extensions.CTLPoisonByte || f.poison)
	return append(dst, '}')
}

// appendName appends a subject/issuer object: the non-empty fields, and
// "aggregated" always.
func appendName(dst []byte, n *Name) []byte {
	dst = append(dst, '{')
	for _, f := range [...]struct{ key, value string }{
		{`"C":`, n.C}, {`"CN":`, n.CN}, {`"L":`, n.L}, {`"O":`, n.O}, {`"OU":`, n.OU}, {`"ST":`, n.ST},
	} {
		if f.value != "" {
			dst = append(dst, f.key...)
			dst = appendString(dst, f.value)
			dst = append(dst, ',')
		}
	}
	dst = append(dst, `"aggregated":`...)
	dst = appendString(dst, n.Aggregated)
	if n.EmailAddress != "" {
		dst = append(dst, `,"email_address":`...)
		dst = appendString(dst, n.EmailAddress)
	}
	return append(dst, '}')
}

// appendExtensions appends the extensions object: the present keys in wire
// order, then "ctlPoisonByte":true when poison is set.
func appendExtensions(dst []byte, x *Extensions, poison bool) []byte {
	dst = append(dst, '{')
	first := true
	for _, f := range [...]struct {
		bit   Extension
		key   string
		value string
	}{
		{ExtAuthorityInfoAccess, `"authorityInfoAccess":`, x.AuthorityInfoAccess},
		{ExtAuthorityKeyIdentifier, `"authorityKeyIdentifier":`, x.AuthorityKeyIdentifier},
		{ExtBasicConstraints, `"basicConstraints":`, x.BasicConstraints},
		{ExtCertificatePolicies, `"certificatePolicies":`, x.CertificatePolicies},
		{ExtCTLSignedCertificateTimestamp, `"ctlSignedCertificateTimestamp":`, x.CTLSignedCertificateTimestamp},
		{ExtExtendedKeyUsage, `"extendedKeyUsage":`, x.ExtendedKeyUsage},
		{ExtKeyUsage, `"keyUsage":`, x.KeyUsage},
		{ExtSubjectAltName, `"subjectAltName":`, x.SubjectAltName},
		{ExtSubjectKeyIdentifier, `"subjectKeyIdentifier":`, x.SubjectKeyIdentifier},
	} {
		if !x.Has(f.bit) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		dst = appendString(dst, f.value)
	}
	if poison {
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, `"ctlPoisonByte":true`...)
	}
	return append(dst, '}')
}

// appendStrings appends a JSON array of strings; nil is written as [].
func appendStrings(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}
