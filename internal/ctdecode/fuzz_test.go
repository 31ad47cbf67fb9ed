package ctdecode

import (
	"bytes"
	"strings"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

func FuzzDecodeRFC6962(f *testing.F) {
	for _, e := range fourEntries(f) {
		f.Add(e.LeafInput, e.ExtraData)
	}
	_, leaf, extra := navigliRFC6962(f, 1)
	f.Add(leaf, extra)
	cache := certfields.NewCache(64)
	f.Fuzz(func(t *testing.T, leafInput, extraData []byte) {
		e, err := DecodeRFC6962(3, leafInput, extraData, cache)
		if err != nil {
			if e != nil || !strings.HasPrefix(err.Error(), "entry 3: ") {
				t.Fatalf("entry %v with error %q", e, err)
			}
		} else if e.Index != 3 || e.Leaf == nil || e.Chain == nil {
			t.Fatalf("incomplete entry %+v", e)
		}
		// Whatever the framing accepts, certificate-transparency-go reads the same way.
		got, err := splitRFC6962(leafInput, extraData)
		if err != nil {
			return
		}
		want, err := oracleRFC6962(leafInput, extraData)
		if err != nil {
			t.Fatalf("accepted what the oracle rejects: %v", err)
		}
		sameFraming(t, got, want)
	})
}

func FuzzParseDataTile(f *testing.F) {
	tile := navigli(f, "tile", "data", "000")
	leaves, err := ParseDataTile(tile, 0, TileWidth)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: single leaves and a pair cut from the tile.
	for i := range 3 {
		start := bytes.Index(tile, leaves[i].TimestampedEntry)
		end := bytes.Index(tile, leaves[i+1].TimestampedEntry)
		f.Add(tile[start:end], uint64(i), uint16(1))
		if i == 0 {
			end2 := bytes.Index(tile, leaves[i+2].TimestampedEntry)
			f.Add(tile[start:end2], uint64(i), uint16(2))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, first uint64, want uint16) {
		leaves, err := ParseDataTile(data, first, int(want))
		if err != nil {
			if leaves != nil || err.Error() == "" {
				t.Fatalf("leaves %v with error %q", leaves, err)
			}
			return
		}
		// What parsed re-encodes to the input, byte for byte.
		var re []byte
		for i, tl := range leaves {
			if tl.LeafIndex != first+uint64(i) {
				t.Fatalf("leaf %d has index %d", i, tl.LeafIndex)
			}
			re = append(re, tl.TimestampedEntry...)
			if tl.Type == wire.PrecertEntry {
				n := len(tl.Cert)
				re = append(re, byte(n>>16), byte(n>>8), byte(n))
				re = append(re, tl.Cert...)
			}
			n := 32 * len(tl.Chain)
			re = append(re, byte(n>>8), byte(n))
			for _, fp := range tl.Chain {
				re = append(re, fp[:]...)
			}
			if i < 4 {
				if e, err := EntryFromTileLeaf(tl, nil); err == nil && (e.Leaf == nil || e.Index != tl.LeafIndex) {
					t.Fatalf("incomplete entry %+v", e)
				}
			}
		}
		if len(leaves) != int(want) || !bytes.Equal(re, data) {
			t.Fatalf("%d leaves (want %d) re-encode to %d bytes of %d", len(leaves), want, len(re), len(data))
		}
	})
}
