// Package clusterwire is the encoding of one certificate on the cluster link
// between an ingest node and its edges: a wire.Update in a compact binary
// form that decodes to an equal Update, so an edge serializes it with the
// same encoders as the ingest node and its clients get the same bytes.
//
// The form is a version byte followed by the update's fields in a fixed
// order: unsigned varints for numbers and lengths, length-prefixed bytes for
// strings and DER, raw bytes for the fingerprints. Decode checks every
// length against the input and returns an error, never panics.
package clusterwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/certstream/certstream/internal/wire"
)

// version is the form's first byte; a decoder refuses any other.
const version = 1

// maxChain bounds the chain length a decoder accepts.
const maxChain = 64

// Encode returns the encoding of u in a new slice, allocated once: its
// size is estimated from the certificates' DER, which the fields parsed from
// it rarely outgrow (the slice grows if they do).
func Encode(u *wire.Update) []byte {
	n := 64 + len(u.CertLink) + certSize(u.Leaf)
	if u.Source != nil {
		n += len(u.Source.Name) + len(u.Source.URL)
	}
	for _, c := range u.Chain {
		n += certSize(c)
	}
	return appendUpdate(make([]byte, 0, n), u)
}

// certSize estimates a certificate's encoded size.
func certSize(c *wire.Cert) int {
	if c == nil {
		return 1
	}
	return 2*len(c.DER) + 256
}

// appendUpdate appends the encoding of u to dst and returns the extended slice.
func appendUpdate(dst []byte, u *wire.Update) []byte {
	dst = append(dst, version, byte(u.Type))
	dst = binary.AppendUvarint(dst, u.Index)
	dst = binary.AppendUvarint(dst, u.Timestamp)
	dst = binary.AppendVarint(dst, u.Seen)
	src := u.Source
	if src == nil {
		src = &wire.Source{}
	}
	dst = appendString(dst, src.Name)
	dst = appendString(dst, src.URL)
	dst = appendString(dst, u.CertLink)
	dst = appendCert(dst, u.Leaf)
	if u.Chain == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(u.Chain))+1) // 0 is a nil chain
	for _, c := range u.Chain {
		dst = appendCert(dst, c)
	}
	return dst
}

// certFlags are the booleans of a Cert, and whether it is present.
const (
	flagPresent = 1 << iota
	flagCA
	flagPoison
)

func appendCert(dst []byte, c *wire.Cert) []byte {
	if c == nil {
		return append(dst, 0)
	}
	flags := byte(flagPresent)
	if c.IsCA {
		flags |= flagCA
	}
	if c.Extensions.CTLPoisonByte {
		flags |= flagPoison
	}
	dst = append(dst, flags)
	dst = appendBytes(dst, c.DER)
	dst = appendName(dst, &c.Subject)
	dst = appendName(dst, &c.Issuer)
	dst = appendString(dst, c.SerialNumber)
	dst = binary.AppendVarint(dst, c.NotBefore)
	dst = binary.AppendVarint(dst, c.NotAfter)
	dst = append(dst, c.SHA1[:]...)
	dst = append(dst, c.SHA256[:]...)
	dst = appendString(dst, c.SignatureAlgorithm)
	dst = binary.AppendUvarint(dst, uint64(len(c.AllDomains)))
	for _, d := range c.AllDomains {
		dst = appendString(dst, d)
	}
	x := &c.Extensions
	dst = binary.AppendUvarint(dst, uint64(x.Present))
	for i, s := range extensionFields(x) {
		if x.Present&(1<<i) != 0 {
			dst = appendString(dst, *s)
		}
	}
	return dst
}

// extensionFields are the extension strings in the order of their bits.
func extensionFields(x *wire.Extensions) [9]*string {
	return [9]*string{&x.AuthorityInfoAccess, &x.AuthorityKeyIdentifier, &x.BasicConstraints,
		&x.CertificatePolicies, &x.CTLSignedCertificateTimestamp, &x.ExtendedKeyUsage, &x.KeyUsage,
		&x.SubjectAltName, &x.SubjectKeyIdentifier}
}

// nameFields are a Name's strings in encoding order.
func nameFields(n *wire.Name) [8]*string {
	return [8]*string{&n.C, &n.CN, &n.L, &n.O, &n.OU, &n.ST, &n.EmailAddress, &n.Aggregated}
}

func appendName(dst []byte, n *wire.Name) []byte {
	for _, s := range nameFields(n) {
		dst = appendString(dst, *s)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// errShort is a truncated or overlong input.
var errShort = errors.New("clusterwire: truncated update")

// Decoder decodes updates encoded by Encode. The issuers in a chain are
// the same few certificates again and again, so a Decoder keeps the chain
// certificates it decoded last and returns the same *wire.Cert for the same
// DER, as the ingest's own decoder does: an edge holds one copy of each
// issuer however many updates in its replay window name it, and skips
// decoding it again. Returned updates share no memory with the input; their
// chain certificates are shared and must not be modified. A Decoder is not
// safe for concurrent use.
type Decoder struct {
	chain map[string]*wire.Cert // by DER
	order []string              // ring of keys in insertion order
	next  int                   // ring slot of the next insertion
}

// NewDecoder returns a Decoder that keeps at most chainCerts chain
// certificates (at least one).
func NewDecoder(chainCerts int) *Decoder {
	chainCerts = max(chainCerts, 1)
	return &Decoder{chain: make(map[string]*wire.Cert, chainCerts), order: make([]string, chainCerts)}
}

// Decode decodes one update.
func (d *Decoder) Decode(b []byte) (*wire.Update, error) {
	r := reader{b: b}
	if v := r.byte(); v != version {
		if r.err != nil {
			return nil, r.err
		}
		return nil, fmt.Errorf("clusterwire: version %d, want %d", v, version)
	}
	u := &wire.Update{Source: &wire.Source{}}
	u.Type = wire.EntryType(r.byte())
	u.Index = r.uvarint()
	u.Timestamp = r.uvarint()
	u.Seen = r.varint()
	u.Source.Name = r.string()
	u.Source.URL = r.string()
	u.CertLink = r.string()
	u.Leaf = r.cert()
	if n := r.uvarint(); n > 0 {
		if n-1 > maxChain {
			return nil, fmt.Errorf("clusterwire: chain of %d certificates", n-1)
		}
		u.Chain = make([]*wire.Cert, n-1)
		for i := range u.Chain {
			u.Chain[i] = d.chainCert(&r)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		return nil, fmt.Errorf("clusterwire: %d bytes after the update", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return u, nil
}

// chainCert reads a chain certificate: the kept one for its DER, its
// encoding skipped (still checked), or a new one, then kept.
func (d *Decoder) chainCert(r *reader) *wire.Cert {
	start := r.b
	if flags := r.byte(); flags&flagPresent != 0 {
		if kept, ok := d.chain[string(r.next(r.uvarint()))]; ok {
			r.b = start
			r.skip = true
			r.cert()
			r.skip = false
			return kept
		}
	}
	r.b = start
	c := r.cert()
	if c == nil || r.err != nil || len(c.DER) == 0 {
		return c
	}
	key := string(c.DER)
	if old := d.order[d.next]; old != "" {
		delete(d.chain, old)
	}
	d.chain[key], d.order[d.next] = c, key
	d.next = (d.next + 1) % len(d.order)
	return c
}

// reader consumes an encoding; after the first error every read returns
// the zero value and err stays set.
type reader struct {
	b    []byte
	err  error
	skip bool // only check and consume: strings and bytes read as empty
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

// next returns the next n bytes, aliasing the input.
func (r *reader) next(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) string() string {
	p := r.next(r.uvarint())
	if r.skip {
		return ""
	}
	return string(p)
}

func (r *reader) bytes() []byte {
	p := r.next(r.uvarint())
	if p == nil || r.skip {
		return nil
	}
	return append([]byte(nil), p...)
}

func (r *reader) cert() *wire.Cert {
	flags := r.byte()
	if flags&flagPresent == 0 {
		return nil
	}
	c := &wire.Cert{IsCA: flags&flagCA != 0}
	c.Extensions.CTLPoisonByte = flags&flagPoison != 0
	c.DER = r.bytes()
	for _, s := range nameFields(&c.Subject) {
		*s = r.string()
	}
	for _, s := range nameFields(&c.Issuer) {
		*s = r.string()
	}
	c.SerialNumber = r.string()
	c.NotBefore = r.varint()
	c.NotAfter = r.varint()
	copy(c.SHA1[:], r.next(20))
	copy(c.SHA256[:], r.next(32))
	c.SignatureAlgorithm = r.string()
	if n := r.uvarint(); n > 0 {
		if n > uint64(len(r.b)) { // each domain takes at least a byte
			r.fail()
			return c
		}
		c.AllDomains = make([]string, n)
		for i := range c.AllDomains {
			c.AllDomains[i] = r.string()
		}
	}
	present := r.uvarint()
	if present > math.MaxUint16 {
		r.fail()
		return c
	}
	x := &c.Extensions
	x.Present = wire.Extension(present)
	for i, s := range extensionFields(x) {
		if x.Present&(1<<i) != 0 {
			*s = r.string()
		}
	}
	return c
}
