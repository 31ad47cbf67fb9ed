package ctdecode

import (
	"fmt"
	"strconv"

	"github.com/certstream/certstream/internal/wire"
)

// TileWidth is the number of entries in a full static-ct data tile.
const TileWidth = 256

// TileLeaf is one entry of a static-ct data tile, framing checked but
// certificates not parsed. Byte slices alias the tile data.
type TileLeaf struct {
	Type      wire.EntryType
	Timestamp uint64 // the log's timestamp, Unix milliseconds
	LeafIndex uint64 // from the leaf_index extension, checked against the position
	// Cert is the x509 leaf DER, or for precerts the full pre_certificate DER
	// (poison included).
	Cert []byte
	// Chain holds the SHA-256 fingerprints of the issuer chain, issuer
	// first; nil when the entry lists none.
	Chain [][32]byte
	// TimestampedEntry is the entry's raw TimestampedEntry; the Merkle leaf
	// hash is SHA-256(0x00 ‖ 0x00 ‖ 0x00 ‖ TimestampedEntry).
	TimestampedEntry []byte
}

// ParseDataTile reads exactly want concatenated TileLeafs from a data tile
// whose first entry has index firstIndex, checking each entry's leaf_index
// extension against its position. Errors name the tile position, the entry
// index and the byte offset in data.
func ParseDataTile(data []byte, firstIndex uint64, want int) ([]TileLeaf, error) {
	if want < 1 || want > TileWidth {
		return nil, fmt.Errorf("data tile: want %d leaves, must be 1..%d", want, TileWidth)
	}
	r := newReader("data tile", data)
	leaves := make([]TileLeaf, want)
	fingerprints := make([][32]byte, 0, 2*want) // shared backing for every Chain
	for pos := range leaves {
		index := firstIndex + uint64(pos)
		if r.empty() {
			return nil, fmt.Errorf("data tile: holds %d leaves, want %d (tile position %d, entry %d missing)", pos, want, pos, index)
		}
		tl := &leaves[pos]
		var err error
		fingerprints, err = readTileLeaf(&r, data, index, tl, fingerprints)
		if err != nil {
			return nil, fmt.Errorf("tile position %d (entry %d): %w", pos, index, err)
		}
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("%w after the %d wanted leaves", err, want)
	}
	return leaves, nil
}

// readTileLeaf reads one TileLeaf into tl, appending its chain fingerprints
// to fingerprints (and pointing tl.Chain into it).
func readTileLeaf(r *reader, data []byte, index uint64, tl *TileLeaf, fingerprints [][32]byte) ([][32]byte, error) {
	start := r.offset()
	te, err := readTimestampedEntry(r)
	if err != nil {
		return fingerprints, err
	}
	tl.Type, tl.Timestamp, tl.Cert = te.typ, te.timestamp, te.cert
	tl.TimestampedEntry = data[start:r.offset()]
	if tl.LeafIndex, err = readLeafIndex(&te.extensions); err != nil {
		return fingerprints, err
	}
	if tl.LeafIndex != index {
		return fingerprints, fmt.Errorf("leaf_index extension says %d, want %d", tl.LeafIndex, index)
	}
	if tl.Type == wire.PrecertEntry {
		if tl.Cert, err = r.cert("pre_certificate"); err != nil {
			return fingerprints, err
		}
	}
	fps, err := r.sub("chain fingerprints", 2)
	if err != nil {
		return fingerprints, err
	}
	if n := len(fps.s); n%32 != 0 {
		return fingerprints, fps.errorAt(fps.base-2, "chain fingerprints", "byte length %d is not a multiple of 32", n)
	}
	if fps.empty() {
		return fingerprints, nil
	}
	first := len(fingerprints)
	var fp [32]byte
	for fps.s.CopyBytes(fp[:]) {
		fingerprints = append(fingerprints, fp)
	}
	tl.Chain = fingerprints[first:len(fingerprints):len(fingerprints)]
	return fingerprints, nil
}

// readLeafIndex finds the one leaf_index extension (type 0, a uint40) in a
// CtExtensions body.
func readLeafIndex(ext *reader) (uint64, error) {
	var index uint64
	found := false
	for !ext.empty() {
		at := ext.offset()
		typ, err := ext.uint8("extension type")
		if err != nil {
			return 0, err
		}
		body, err := ext.sub("extension data", 2)
		if err != nil {
			return 0, err
		}
		if typ != 0 {
			continue
		}
		if found {
			return 0, ext.errorAt(at, "leaf_index extension", "repeated")
		}
		found = true
		if index, err = body.uint40("leaf_index"); err != nil {
			return 0, err
		}
		if err := body.done(); err != nil {
			return 0, fmt.Errorf("%w in the leaf_index extension", err)
		}
	}
	if !found {
		return 0, ext.errorf("extensions", "no leaf_index extension")
	}
	return index, nil
}

// TilePath encodes a tile number the static-ct way: 3-digit groups, every
// group but the last prefixed with "x" ("000", "x001/234", "x001/x234/067").
func TilePath(n uint64) string {
	var groups [7]uint64 // a uint64 has at most 7 groups of 3 digits
	k := 0
	for {
		groups[k] = n % 1000
		k++
		n /= 1000
		if n == 0 {
			break
		}
	}
	b := make([]byte, 0, 5*k)
	for i := k - 1; i >= 0; i-- {
		if i > 0 {
			b = append(b, 'x')
		}
		g := groups[i]
		b = append(b, byte('0'+g/100), byte('0'+g/10%10), byte('0'+g%10))
		if i > 0 {
			b = append(b, '/')
		}
	}
	return string(b)
}

// DataTilePath is the path of data tile n under the monitoring prefix:
// "tile/data/<N>" for a full tile, "tile/data/<N>.p/<width>" when width is
// 1..255 (a partial tile). Any other width means the full tile.
func DataTilePath(n uint64, width int) string {
	p := "tile/data/" + TilePath(n)
	if width > 0 && width < TileWidth {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}
