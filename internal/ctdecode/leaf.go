package ctdecode

import "github.com/certstream/certstream/internal/wire"

// timestampedEntry is the framing of an RFC 6962 TimestampedEntry. Slices
// alias the input.
type timestampedEntry struct {
	timestamp uint64
	typ       wire.EntryType
	// cert is the x509 leaf DER, or for precerts the TBSCertificate.
	cert       []byte
	extensions reader
}

// readTimestampedEntry reads a TimestampedEntry, checking its framing only.
func readTimestampedEntry(r *reader) (timestampedEntry, error) {
	var te timestampedEntry
	var err error
	if te.timestamp, err = r.uint64("timestamp"); err != nil {
		return te, err
	}
	typeAt := r.offset()
	typ, err := r.uint16("entry_type")
	if err != nil {
		return te, err
	}
	switch typ { // compare as uint16: EntryType is a uint8
	case uint16(wire.X509Entry):
		te.typ = wire.X509Entry
		te.cert, err = r.cert("x509 certificate")
	case uint16(wire.PrecertEntry):
		te.typ = wire.PrecertEntry
		if _, err = r.bytes("issuer_key_hash", 32); err == nil {
			te.cert, err = r.cert("tbs_certificate")
		}
	default:
		err = r.errorAt(typeAt, "entry_type", "unknown type %d (want 0 x509 or 1 precert)", typ)
	}
	if err != nil {
		return te, err
	}
	te.extensions, err = r.sub("extensions", 2)
	return te, err
}
