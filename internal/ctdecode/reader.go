package ctdecode

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// reader walks a TLS-encoded (big-endian) buffer. Every failure names the
// buffer, the field and the absolute byte offset where it happened.
type reader struct {
	name string // the buffer: "leaf_input", "extra_data", "data tile"
	base int    // offset of s[0] within the named buffer
	size int    // len(s) when the reader was made
	s    cryptobyte.String
}

func newReader(name string, b []byte) reader {
	return reader{name: name, size: len(b), s: b}
}

// offset is the absolute position of the next unread byte.
func (r *reader) offset() int { return r.base + r.size - len(r.s) }

func (r *reader) empty() bool { return len(r.s) == 0 }

// errorf formats an error about field at the current offset.
func (r *reader) errorf(field, format string, args ...any) error {
	return r.errorAt(r.offset(), field, format, args...)
}

// errorAt formats an error about field at byte offset off.
func (r *reader) errorAt(off int, field, format string, args ...any) error {
	return fmt.Errorf("%s: %s at byte %d: %s", r.name, field, off, fmt.Sprintf(format, args...))
}

func (r *reader) short(field string, need int) error {
	return r.errorf(field, "need %d bytes, only %d left", need, len(r.s))
}

func (r *reader) uint8(field string) (uint8, error) {
	var v uint8
	if !r.s.ReadUint8(&v) {
		return 0, r.short(field, 1)
	}
	return v, nil
}

func (r *reader) uint16(field string) (uint16, error) {
	var v uint16
	if !r.s.ReadUint16(&v) {
		return 0, r.short(field, 2)
	}
	return v, nil
}

func (r *reader) uint40(field string) (uint64, error) {
	var b []byte
	if !r.s.ReadBytes(&b, 5) {
		return 0, r.short(field, 5)
	}
	return uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4]), nil
}

func (r *reader) uint64(field string) (uint64, error) {
	var v uint64
	if !r.s.ReadUint64(&v) {
		return 0, r.short(field, 8)
	}
	return v, nil
}

func (r *reader) bytes(field string, n int) ([]byte, error) {
	var b []byte
	if !r.s.ReadBytes(&b, n) {
		return nil, r.short(field, n)
	}
	return b, nil
}

// sub reads a vector with a lenLen-byte (2 or 3) length prefix and returns a
// reader over its body that reports offsets within the same buffer.
func (r *reader) sub(field string, lenLen int) (reader, error) {
	start := r.offset()
	saved := r.s
	var body cryptobyte.String
	var ok bool
	if lenLen == 2 {
		ok = r.s.ReadUint16LengthPrefixed(&body)
	} else {
		ok = r.s.ReadUint24LengthPrefixed(&body)
	}
	if !ok {
		// cryptobyte may have consumed the prefix: report from the start.
		r.s = saved
		if len(r.s) < lenLen {
			return reader{}, r.short(field+" length", lenLen)
		}
		n := 0
		for _, c := range r.s[:lenLen] {
			n = n<<8 | int(c)
		}
		return reader{}, r.errorf(field, "length %d exceeds the %d bytes left", n, len(r.s)-lenLen)
	}
	return reader{name: r.name, base: start + lenLen, size: len(body), s: body}, nil
}

// vector reads a length-prefixed vector's body.
func (r *reader) vector(field string, lenLen int) ([]byte, error) {
	v, err := r.sub(field, lenLen)
	return v.s, err
}

// cert reads an ASN.1Cert: a uint24 length and at least one byte of DER.
func (r *reader) cert(field string) ([]byte, error) {
	start := r.offset()
	b, err := r.vector(field, 3)
	if err == nil && len(b) == 0 {
		return nil, r.errorAt(start, field, "empty certificate")
	}
	return b, err
}

// done fails when unread bytes remain.
func (r *reader) done() error {
	if len(r.s) != 0 {
		return fmt.Errorf("%s: %d trailing bytes at byte %d", r.name, len(r.s), r.offset())
	}
	return nil
}
