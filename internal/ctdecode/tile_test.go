package ctdecode

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/certstream/certstream/internal/wire"
)

// navigliTile parses full data tile n of navigli2025h2.
func navigliTile(t testing.TB, n int) []TileLeaf {
	t.Helper()
	leaves, err := ParseDataTile(navigli(t, "tile", "data", fmt.Sprintf("%03d", n)), uint64(n)*TileWidth, TileWidth)
	if err != nil {
		t.Fatalf("tile %d: %v", n, err)
	}
	return leaves
}

// checkLeafHashes compares each leaf's Merkle leaf hash with a level-0 hash tile.
func checkLeafHashes(t *testing.T, leaves []TileLeaf, hashTile []byte) {
	t.Helper()
	if len(hashTile) != 32*len(leaves) {
		t.Fatalf("hash tile of %d bytes for %d leaves", len(hashTile), len(leaves))
	}
	for i, tl := range leaves {
		h := sha256.Sum256(append([]byte{0, 0, 0}, tl.TimestampedEntry...))
		if !bytes.Equal(h[:], hashTile[32*i:32*i+32]) {
			t.Fatalf("leaf %d (entry %d): leaf hash differs from the hash tile", i, tl.LeafIndex)
		}
	}
}

func TestParseDataTileNavigli(t *testing.T) {
	expected := expectedNavigliEntries(t)
	for n := range 4 {
		leaves := navigliTile(t, n)
		checkLeafHashes(t, leaves, navigli(t, "tile", "0", fmt.Sprintf("%03d", n)))
		for i, tl := range leaves {
			exp := expected[n*TileWidth+i]
			if tl.LeafIndex != exp.Index || tl.Timestamp != exp.Timestamp {
				t.Fatalf("tile %d leaf %d: index %d timestamp %d, want %d %d", n, i, tl.LeafIndex, tl.Timestamp, exp.Index, exp.Timestamp)
			}
			if tl.Type != wire.PrecertEntry {
				t.Fatalf("entry %d: type %d, navigli holds precerts only", tl.LeafIndex, tl.Type)
			}
			// The pre_certificate is a DER SEQUENCE that is not the TBS inside the TimestampedEntry.
			if len(tl.Cert) < 100 || tl.Cert[0] != 0x30 || bytes.Contains(tl.TimestampedEntry, tl.Cert) {
				t.Fatalf("entry %d: Cert (%d bytes) is not the pre_certificate", tl.LeafIndex, len(tl.Cert))
			}
			if len(tl.Chain) == 0 {
				t.Fatalf("entry %d: no chain fingerprints", tl.LeafIndex)
			}
		}
	}
}

func TestParseDataTilePartial(t *testing.T) {
	full := navigliTile(t, 3)
	partial, err := ParseDataTile(navigli(t, "tile", "data", "003.p", "10"), 3*TileWidth, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(partial, full[:10]) {
		t.Fatal("the partial tile's 10 leaves differ from the full tile's first 10")
	}
	checkLeafHashes(t, partial, navigli(t, "tile", "0", "003.p", "10"))
}

func TestParseDataTileChain(t *testing.T) {
	fp1, fp2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	tile := append(tileLeaf(leafSpec{timestamp: 5, typ: 0, cert: []byte{0x30, 1}, ext: leafIndexExt(7), fpBytes: append(fp1, fp2...)}),
		tileLeaf(leafSpec{timestamp: 6, typ: 1, cert: []byte{0x30, 2}, preCert: []byte{0x30, 3}, ext: append([]byte{9, 0, 1, 42}, leafIndexExt(8)...)})...)
	leaves, err := ParseDataTile(tile, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []TileLeaf{
		{Type: wire.X509Entry, Timestamp: 5, LeafIndex: 7, Cert: []byte{0x30, 1}, Chain: [][32]byte{[32]byte(fp1), [32]byte(fp2)}},
		{Type: wire.PrecertEntry, Timestamp: 6, LeafIndex: 8, Cert: []byte{0x30, 3}},
	}
	for i := range leaves {
		leaves[i].TimestampedEntry = nil
	}
	if !reflect.DeepEqual(leaves, want) {
		t.Fatalf("got %+v\nwant %+v", leaves, want)
	}
}

func TestParseDataTileErrors(t *testing.T) {
	tile0 := navigli(t, "tile", "data", "000")
	// Leaf boundaries: where leaves' TimestampedEntries start.
	leaves := navigliTile(t, 0)
	off1 := bytes.Index(tile0, leaves[1].TimestampedEntry)
	offLast := bytes.Index(tile0, leaves[255].TimestampedEntry)
	one := tile0[:off1]

	okLeaf := func(index uint64) leafSpec {
		return leafSpec{typ: 0, cert: []byte{0x30, 0}, ext: leafIndexExt(index), fpBytes: make([]byte, 32)}
	}
	with := func(index uint64, f func(*leafSpec)) []byte {
		s := okLeaf(index)
		f(&s)
		return tileLeaf(s)
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		first uint64
		want  int
		err   string
	}{
		{"fewer leaves than wanted", tile0[:offLast], 0, 256, "data tile: holds 255 leaves, want 256 (tile position 255, entry 255 missing)"},
		{"empty tile", nil, 512, 1, "data tile: holds 0 leaves, want 1 (tile position 0, entry 512 missing)"},
		{"more leaves than wanted", tile0, 0, 255, fmt.Sprintf("data tile: %d trailing bytes at byte %d after the 255 wanted leaves", len(tile0)-offLast, offLast)},
		{"trailing garbage", append(bytes.Clone(one), 0xde, 0xad), 0, 1, fmt.Sprintf("data tile: 2 trailing bytes at byte %d", off1)},
		{"leaf_index mismatch", tile0, 256, 256, "tile position 0 (entry 256): leaf_index extension says 0, want 256"},
		{"leaf_index mismatch later", append(bytes.Clone(one), with(5, func(*leafSpec) {})...), 0, 2, "tile position 1 (entry 1): leaf_index extension says 5, want 1"},
		{"truncated leaf", one[:len(one)-1], 0, 1, "tile position 0 (entry 0): data tile: chain fingerprints at byte"},
		{"fingerprints not a multiple of 32", append(bytes.Clone(one), with(1, func(s *leafSpec) { s.fpBytes = make([]byte, 33) })...), 0, 2,
			fmt.Sprintf("tile position 1 (entry 1): data tile: chain fingerprints at byte %d: byte length 33 is not a multiple of 32", off1+8+2+3+2+2+len(leafIndexExt(1)))},
		{"no leaf_index", with(0, func(s *leafSpec) { s.ext = nil }), 0, 1, "tile position 0 (entry 0): data tile: extensions at byte 17: no leaf_index extension"},
		{"repeated leaf_index", with(0, func(s *leafSpec) { s.ext = append(leafIndexExt(0), leafIndexExt(0)...) }), 0, 1, "data tile: leaf_index extension at byte 25: repeated"},
		{"short leaf_index", with(0, func(s *leafSpec) { s.ext = []byte{0, 0, 4, 0, 0, 0, 0} }), 0, 1, "data tile: leaf_index at byte 20: need 5 bytes, only 4 left"},
		{"long leaf_index", with(0, func(s *leafSpec) { s.ext = []byte{0, 0, 6, 0, 0, 0, 0, 0, 0} }), 0, 1, "data tile: 1 trailing bytes at byte 25 in the leaf_index extension"},
		{"extension data too long", with(0, func(s *leafSpec) { s.ext = []byte{3, 0, 9} }), 0, 1, "data tile: extension data at byte 18: length 9 exceeds the 0 bytes left"},
		{"unknown entry type", with(0, func(s *leafSpec) { s.typ = 3 }), 0, 1, "tile position 0 (entry 0): data tile: entry_type at byte 8: unknown type 3"},
		{"want zero", one, 0, 0, "data tile: want 0 leaves, must be 1..256"},
		{"want too many", tile0, 0, 257, "data tile: want 257 leaves, must be 1..256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDataTile(tc.data, tc.first, tc.want)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want it to contain %q", err, tc.err)
			}
		})
	}

	// A fingerprint byte length past the end of the tile.
	bad := with(0, func(*leafSpec) {})
	bad[len(bad)-34] = 0xff
	if _, err := ParseDataTile(bad, 0, 1); err == nil || !strings.Contains(err.Error(), "chain fingerprints at byte 25: length 65312 exceeds the 32 bytes left") {
		t.Fatalf("err %v", err)
	}
	// A precert whose pre_certificate is missing.
	pre := tileLeaf(leafSpec{typ: 1, cert: []byte{0x30, 0}, ext: leafIndexExt(0)})
	if _, err := ParseDataTile(pre[:len(pre)-5], 0, 1); err == nil || !strings.Contains(err.Error(), "pre_certificate length at byte 57") {
		t.Fatalf("err %v", err)
	}
}

func TestTilePath(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "000", 5: "005", 999: "999", 1000: "x001/000", 1234: "x001/234",
		1234067: "x001/x234/067", 1000000: "x001/x000/000",
		18446744073709551615: "x018/x446/x744/x073/x709/x551/615",
	} {
		if got := TilePath(n); got != want {
			t.Errorf("TilePath(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDataTilePath(t *testing.T) {
	for _, tc := range []struct {
		n     uint64
		width int
		want  string
	}{
		{0, 256, "tile/data/000"},
		{3, 10, "tile/data/003.p/10"},
		{1234, 1, "tile/data/x001/234.p/1"},
		{1234067, 255, "tile/data/x001/x234/067.p/255"},
		{7, 0, "tile/data/007"},
	} {
		if got := DataTilePath(tc.n, tc.width); got != tc.want {
			t.Errorf("DataTilePath(%d, %d) = %q, want %q", tc.n, tc.width, got, tc.want)
		}
	}
}
