package fakelog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/google/certificate-transparency-go/x509"
	"golang.org/x/mod/sumdb/tlog"
)

// TestStaticCTCheckpointAndTiles verifies the checkpoint, fetches every data
// tile, parses the leaves independently, recomputes the root, and checks
// the 404 rules for tiles that do not exist.
func TestStaticCTCheckpointAndTiles(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "tiled", Kind: StaticCT, PrecertFraction: 0.5})
	appendN(t, l, 600) // tiles 000, 001 full; 002.p/88

	cp, err := verifyCheckpoint(string(getOK(t, l.URL()+"checkpoint")), l.Origin(), l.PublicKey(), l.PublicKeyDER())
	if err != nil {
		t.Fatal(err)
	}
	if cp.size != 600 || cp.sigLines != 1 || int64(cp.timestamp) != l.STH().Timestamp {
		t.Fatalf("checkpoint size %d, %d signatures, ts %d", cp.size, cp.sigLines, cp.timestamp)
	}
	if want := strings.TrimSuffix(strings.TrimPrefix(l.URL(), "http://"), "/"); l.Origin() != want {
		t.Errorf("origin %q, want %q", l.Origin(), want)
	}

	ca := s.CA()
	interFP, rootFP := sha256.Sum256(ca.Intermediate), sha256.Sum256(ca.Root)
	var leaves [][]byte
	for _, path := range []string{"000", "001", "002.p/88"} {
		tile := getOK(t, l.URL()+"tile/data/"+path)
		parsed, err := parseTileLeaves(tile)
		if err != nil {
			t.Fatalf("tile %s: %v", path, err)
		}
		for _, tl := range parsed {
			i := int64(len(leaves))
			if tl.leafIndex != i {
				t.Fatalf("tile %s: leaf_index %d at position %d", path, tl.leafIndex, i)
			}
			if len(tl.fingerprints) != 2 || !bytes.Equal(tl.fingerprints[0], interFP[:]) || !bytes.Equal(tl.fingerprints[1], rootFP[:]) {
				t.Fatalf("leaf %d: chain fingerprints are not [intermediate, root]", i)
			}
			e, _ := l.Entry(i)
			if tl.precert != e.Precert || int64(tl.timestamp) != e.Timestamp {
				t.Fatalf("leaf %d: precert %v ts %d, entry %+v", i, tl.precert, tl.timestamp, e)
			}
			if tl.precert {
				if !bytes.Equal(tl.preCert, e.Certificate) || !bytes.Equal(tl.issuerKey, ca.IssuerKeyHash[:]) {
					t.Fatalf("leaf %d: pre_certificate or issuer key hash differs", i)
				}
				pre, err := x509.ParseCertificate(tl.preCert)
				if err != nil || !pre.IsPrecertificate() {
					t.Fatalf("leaf %d: pre_certificate: %v", i, err)
				}
				if tbs, _ := x509.RemoveCTPoison(pre.RawTBSCertificate); !bytes.Equal(tbs, tl.cert) {
					t.Fatalf("leaf %d: TBS is not the pre_certificate's without poison", i)
				}
			} else if !bytes.Equal(tl.cert, e.Certificate) {
				t.Fatalf("leaf %d: certificate differs", i)
			}
			if li, _ := l.RawEntry(i); !bytes.Equal(li, tl.merkleLeaf) {
				t.Fatalf("leaf %d: RawEntry differs from the tile's Merkle leaf", i)
			}
			leaves = append(leaves, tl.merkleLeaf)
		}
		var again []byte
		for i := int64(len(leaves) - len(parsed)); i < int64(len(leaves)); i++ {
			again = append(again, l.TileLeaf(i)...)
		}
		if !bytes.Equal(again, tile) {
			t.Fatalf("tile %s differs from the concatenated TileLeaf values", path)
		}
	}
	if root := mth(leaves); !bytes.Equal(root[:], cp.root) {
		t.Fatalf("checkpoint root %x, recomputed %x", cp.root, root)
	}

	// Level-0 hash tile 000 holds leaf hashes; level-1 partial holds subtree roots.
	h0 := getOK(t, l.URL()+"tile/0/000")
	for i := range 256 {
		if want := mth(leaves[i : i+1]); !bytes.Equal(h0[32*i:32*i+32], want[:]) {
			t.Fatalf("hash tile 0/000 entry %d differs", i)
		}
	}
	h1 := getOK(t, l.URL()+"tile/1/000.p/2")
	for i := range 2 {
		if want := mth(leaves[256*i : 256*i+256]); !bytes.Equal(h1[32*i:32*i+32], want[:]) {
			t.Fatalf("hash tile 1/000.p/2 entry %d differs", i)
		}
	}
	if p := getOK(t, l.URL()+"tile/0/002.p/88"); len(p) != 88*32 {
		t.Fatalf("partial hash tile of %d bytes", len(p))
	}

	for _, path := range []string{
		"tile/data/002", "tile/data/002.p/89", "tile/data/003.p/1", "tile/data/000.p/5",
		"tile/data/x000/000", "tile/data/0", "tile/data/002.p/0", "tile/0/002", "tile/1/000",
		"tile/2/000.p/1", "tile/names/000", "tile/data/002.p/256", "tile/../checkpoint", "tile/data/",
		"ct/v1/get-sth", "issuer/" + strings.Repeat("ab", 32), "issuer/" + strings.ToUpper(hex.EncodeToString(interFP[:])),
	} {
		if f := get(t, l.URL()+path); f.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, f.status)
		}
	}
	// A narrower partial of the incomplete last tile is still served.
	if f := get(t, l.URL()+"tile/data/002.p/10"); f.status != http.StatusOK {
		t.Errorf("tile/data/002.p/10: status %d", f.status)
	}
	for _, c := range ca.Chain() {
		fp := sha256.Sum256(c)
		if got := getOK(t, l.URL()+"issuer/"+hex.EncodeToString(fp[:])); !bytes.Equal(got, c) {
			t.Error("issuer body differs from the certificate")
		}
	}
}

// TestCosignatureLine checks the extra witness line is present on request
// and does not stop verification with the log key.
func TestCosignatureLine(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "cosigned", Kind: StaticCT, Faults: Faults{Cosignature: true}})
	appendN(t, l, 3)
	text := string(getOK(t, l.URL()+"checkpoint"))
	cp, err := verifyCheckpoint(text, l.Origin(), l.PublicKey(), l.PublicKeyDER())
	if err != nil {
		t.Fatal(err)
	}
	if cp.sigLines != 2 || !strings.Contains(text, "— witness.fakelog.test ") {
		t.Fatalf("want the log and a witness signature line:\n%s", text)
	}
	if _, err := verifyCheckpoint(text, l.Origin(), s.Logs()[0].PublicKey(), []byte("other key")); err == nil {
		t.Fatal("checkpoint verified with a wrong key ID")
	}
}

// TestGzipTiles checks gzip data tiles decode to the uncompressed bytes and
// hash tiles stay uncompressed.
func TestGzipTiles(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "gz", Kind: StaticCT, PrecertFraction: 0.5})
	appendN(t, l, 300)
	plain := get(t, l.URL()+"tile/data/000")
	if plain.header.Get("Content-Encoding") != "" {
		t.Fatal("gzip without GzipTiles")
	}
	if err := l.UpdateFaults(func(f *Faults) { f.GzipTiles = true }); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"tile/data/000", "tile/data/001.p/44"} {
		z := get(t, l.URL()+path)
		if z.status != http.StatusOK || z.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: status %d, Content-Encoding %q", path, z.status, z.header.Get("Content-Encoding"))
		}
		if len(z.body) >= len(plain.body) && path == "tile/data/000" {
			t.Errorf("gzip body %d bytes, plain %d", len(z.body), len(plain.body))
		}
		var want []byte
		for i := int64(0); i < 256; i++ {
			if path == "tile/data/001.p/44" && i >= 44 {
				break
			}
			if path == "tile/data/000" {
				want = append(want, l.TileLeaf(i)...)
			} else {
				want = append(want, l.TileLeaf(256+i)...)
			}
		}
		if !bytes.Equal(gunzip(t, z.body), want) {
			t.Fatalf("%s: decompressed tile differs", path)
		}
	}
	if !bytes.Equal(gunzip(t, get(t, l.URL()+"tile/data/000").body), plain.body) {
		t.Fatal("gzip and plain tile differ")
	}
	if h := get(t, l.URL()+"tile/0/000"); h.header.Get("Content-Encoding") != "" || len(h.body) != 256*32 {
		t.Fatalf("hash tile: encoding %q, %d bytes", h.header.Get("Content-Encoding"), len(h.body))
	}
}

// TestTilePaths checks canonical N encoding and the availability rule.
func TestTilePaths(t *testing.T) {
	for _, tc := range []struct {
		path string
		n    int64
		w    int
		l    int
	}{
		{"tile/data/000", 0, 256, -1},
		{"tile/data/x001/234", 1234, 256, -1},
		{"tile/data/x001/x234/067.p/9", 1234067, 9, -1},
		{"tile/0/x001/234.p/255", 1234, 255, 0},
		{"tile/names/005", 5, 256, -2},
	} {
		tile, err := parseTilePath(tc.path)
		if err != nil || tile.N != tc.n || tile.W != tc.w || tile.L != tc.l {
			t.Errorf("%s: %+v, %v", tc.path, tile, err)
		}
	}
	for _, bad := range []string{"tile/data/1234", "tile/data/x000/001", "tile/data/001.p/256", "tile/data/1", "tile/x/000", "tiles/data/000", "tile/data/000.p/01"} {
		if _, err := parseTilePath(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	for _, tc := range []struct {
		t    tlog.Tile
		size int64
		want bool
	}{
		{tlog.Tile{H: 8, L: -1, N: 0, W: 256}, 255, false},
		{tlog.Tile{H: 8, L: -1, N: 0, W: 256}, 256, true},
		{tlog.Tile{H: 8, L: -1, N: 0, W: 255}, 256, false},
		{tlog.Tile{H: 8, L: -1, N: 1, W: 1}, 257, true},
		{tlog.Tile{H: 8, L: -1, N: 1, W: 2}, 257, false},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 1}, 511, true},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 2}, 511, false},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 256}, 65536, true},
		{tlog.Tile{H: 8, L: 2, N: 0, W: 1}, 65535, false},
		{tlog.Tile{H: 8, L: -1, N: 1 << 50, W: 256}, 1 << 40, false},
		{tlog.Tile{H: 8, L: 9, N: 0, W: 1}, 1 << 40, false},
	} {
		if got := tileAvailable(tc.t, tc.size); got != tc.want {
			t.Errorf("tileAvailable(%+v, %d) = %v", tc.t, tc.size, got)
		}
	}
}
