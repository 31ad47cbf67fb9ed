// Package ctdecode decodes Certificate Transparency log entries — RFC 6962
// get-entries items and static-ct data tiles — into *wire.Entry. It
// checks the binary framing (TLS encoding) and leaves the certificate fields
// to package certfields. Every malformed input gives an error naming the
// field, the byte offset and the entry; nothing panics.
package ctdecode

import (
	"fmt"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

// DecodeRFC6962 decodes the get-entries item at index: leafInput is its
// MerkleTreeLeaf and extraData its chain (preceded by the pre_certificate
// for precerts). The entry's Leaf is the x509 leaf or the submitted
// pre_certificate; its Chain is never nil. Chain certificates are parsed
// through chainCache (certfields.Parse when nil).
func DecodeRFC6962(index uint64, leafInput, extraData []byte, chainCache *certfields.Cache) (*wire.Entry, error) {
	raw, err := splitRFC6962(leafInput, extraData)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	e := &wire.Entry{Type: raw.typ, Index: index, Timestamp: raw.timestamp, Chain: make([]*wire.Cert, len(raw.chain))}
	if e.Leaf, err = parseLeaf(raw.typ, raw.cert); err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	for i, der := range raw.chain {
		if chainCache != nil {
			e.Chain[i], err = chainCache.Parse(der)
		} else {
			e.Chain[i], err = certfields.Parse(der)
		}
		if err != nil {
			return nil, fmt.Errorf("entry %d: chain certificate %d: %w", index, i, err)
		}
	}
	return e, nil
}

// EntryFromTileLeaf builds the entry of a static-ct tile leaf. chain holds
// the parsed issuers named by tl.Chain, in the same order, or is empty when
// they are unknown; Entry.Chain is nil when chain is empty.
func EntryFromTileLeaf(tl TileLeaf, chain []*wire.Cert) (*wire.Entry, error) {
	if len(chain) != 0 && len(chain) != len(tl.Chain) {
		return nil, fmt.Errorf("entry %d: %d chain certificates given for %d fingerprints", tl.LeafIndex, len(chain), len(tl.Chain))
	}
	leaf, err := parseLeaf(tl.Type, tl.Cert)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", tl.LeafIndex, err)
	}
	e := &wire.Entry{Type: tl.Type, Index: tl.LeafIndex, Timestamp: tl.Timestamp, Leaf: leaf}
	if len(chain) != 0 {
		e.Chain = chain
	}
	return e, nil
}

// parseLeaf parses the entry's certificate; every precert entry is marked
// with ctlPoisonByte.
func parseLeaf(typ wire.EntryType, der []byte) (*wire.Cert, error) {
	c, err := certfields.Parse(der)
	if err != nil {
		if typ == wire.PrecertEntry {
			return nil, fmt.Errorf("pre_certificate: %w", err)
		}
		return nil, fmt.Errorf("leaf certificate: %w", err)
	}
	if typ == wire.PrecertEntry {
		c.Extensions.CTLPoisonByte = true
	}
	return c, nil
}
