package ctdecode

import (
	"fmt"

	"github.com/certstream/certstream/internal/wire"
)

// rfc6962Entry is the framing of one get-entries item. Slices alias the input.
type rfc6962Entry struct {
	typ       wire.EntryType
	timestamp uint64
	// cert is the x509 leaf, or for precerts the submitted pre_certificate.
	cert  []byte
	chain [][]byte // issuer first
}

// splitRFC6962 checks the framing of leaf_input (a MerkleTreeLeaf) and
// extra_data and cuts out the certificates.
func splitRFC6962(leafInput, extraData []byte) (rfc6962Entry, error) {
	var e rfc6962Entry
	r := newReader("leaf_input", leafInput)
	version, err := r.uint8("version")
	if err != nil {
		return e, err
	}
	if version != 0 {
		return e, r.errorAt(0, "version", "unknown version %d (want 0)", version)
	}
	leafType, err := r.uint8("leaf_type")
	if err != nil {
		return e, err
	}
	if leafType != 0 {
		return e, r.errorAt(1, "leaf_type", "unknown leaf type %d (want 0 timestamped_entry)", leafType)
	}
	te, err := readTimestampedEntry(&r)
	if err != nil {
		return e, err
	}
	if err := r.done(); err != nil {
		return e, err
	}
	e.typ, e.timestamp, e.cert = te.typ, te.timestamp, te.cert

	x := newReader("extra_data", extraData)
	if e.typ == wire.PrecertEntry {
		if e.cert, err = x.cert("pre_certificate"); err != nil {
			return e, err
		}
	}
	chain, err := x.sub("certificate_chain", 3)
	if err != nil {
		return e, err
	}
	if err := x.done(); err != nil {
		return e, err
	}
	e.chain = make([][]byte, 0, 4)
	for i := 0; !chain.empty(); i++ {
		c, err := chain.cert("chain certificate")
		if err != nil {
			return e, fmt.Errorf("%w (chain position %d)", err, i)
		}
		e.chain = append(e.chain, c)
	}
	return e, nil
}
