package fakelog

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// hashSlice is a tlog.HashReader over a log's stored hashes (tlog's layout
// of every complete subtree hash, RFC 6962 hashing).
type hashSlice []tlog.Hash

// ReadHashes returns the stored hashes at indexes.
func (h hashSlice) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(h)) {
			return nil, fmt.Errorf("fakelog: stored hash %d out of range (have %d)", x, len(h))
		}
		out[i] = h[x]
	}
	return out, nil
}

// appendLeaf extends stored hashes with the leaf at index n (the current
// leaf count) whose MerkleTreeLeaf is leaf.
func (h hashSlice) appendLeaf(n int64, leaf []byte) (hashSlice, error) {
	add, err := tlog.StoredHashes(n, leaf, h)
	if err != nil {
		return nil, fmt.Errorf("fakelog: hashing leaf %d: %w", n, err)
	}
	return append(h, add...), nil
}

// Tile geometry of static-ct: tlog tiles of height 8, 256 hashes or leaves wide.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

// tileAvailable reports whether tile t is served for a tree of size: a full
// tile once all its hashes exist, a partial tile only as the incomplete last
// tile of its level and no wider than the hashes available.
func tileAvailable(t tlog.Tile, size int64) bool {
	level := max(t.L, 0) // data and names tiles sit on level 0
	avail := size >> (tileHeight * uint(level))
	if t.N > avail/tileWidth {
		return false
	}
	start := t.N * tileWidth
	if t.W == tileWidth {
		return start+tileWidth <= avail
	}
	left := avail - start
	return left < tileWidth && int64(t.W) <= left
}
