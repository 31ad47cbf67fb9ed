package ctdecode

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

func TestDecodeRFC6962FourEntries(t *testing.T) {
	cache := certfields.NewCache(16)
	for i, raw := range fourEntries(t) {
		want, err := oracleRFC6962(raw.LeafInput, raw.ExtraData)
		if err != nil {
			t.Fatalf("entry %d: oracle: %v", i, err)
		}
		index := uint64(1000 + i)
		e, err := DecodeRFC6962(index, raw.LeafInput, raw.ExtraData, cache)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if e.Index != index || e.Type != wire.X509Entry || e.Timestamp != want.timestamp {
			t.Errorf("entry %d: index %d type %d timestamp %d, want %d x509 %d", i, e.Index, e.Type, e.Timestamp, index, want.timestamp)
		}
		if e.Leaf.SHA256 != sha256.Sum256(want.cert) || !bytes.Equal(e.Leaf.DER, want.cert) {
			t.Errorf("entry %d: leaf sha256 %x is not that of the leaf DER", i, e.Leaf.SHA256)
		}
		if e.Leaf.Extensions.CTLPoisonByte {
			t.Errorf("entry %d: x509 entry marked ctlPoisonByte", i)
		}
		if len(e.Chain) == 0 || len(e.Chain) != len(want.chain) {
			t.Fatalf("entry %d: chain of %d, want %d (> 0)", i, len(e.Chain), len(want.chain))
		}
		for j, c := range e.Chain {
			if c.SHA256 != sha256.Sum256(want.chain[j]) {
				t.Errorf("entry %d: chain certificate %d has the wrong sha256", i, j)
			}
		}
		// Decoding again reuses the cached chain certificates.
		again, err := DecodeRFC6962(index, raw.LeafInput, raw.ExtraData, cache)
		if err != nil || again.Chain[0] != e.Chain[0] {
			t.Errorf("entry %d: second decode (err %v) did not reuse the cached chain", i, err)
		}
		// Without a cache the chain is parsed directly, to the same fields.
		direct, err := DecodeRFC6962(index, raw.LeafInput, raw.ExtraData, nil)
		if err != nil || !reflect.DeepEqual(direct, e) {
			t.Errorf("entry %d: decode without cache differs (err %v)", i, err)
		}
	}
}

// navigliRFC6962 re-frames navigli tile leaf i as an RFC 6962 precert entry
// with the given chain.
func navigliRFC6962(t testing.TB, i int, chain ...[]byte) (TileLeaf, []byte, []byte) {
	t.Helper()
	tl := navigliTile(t, 0)[i]
	return tl, append([]byte{0, 0}, tl.TimestampedEntry...), extraData(tl.Cert, chain...)
}

func TestDecodeRFC6962Precert(t *testing.T) {
	expected := expectedNavigliEntries(t)
	issuer := fourEntries(t)[0]
	issuerDER, err := oracleRFC6962(issuer.LeafInput, issuer.ExtraData)
	if err != nil {
		t.Fatal(err)
	}
	for _, chain := range [][][]byte{nil, issuerDER.chain} {
		tl, leaf, extra := navigliRFC6962(t, 5, chain...)
		e, err := DecodeRFC6962(5, leaf, extra, certfields.NewCache(4))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != wire.PrecertEntry || e.Timestamp != expected[5].Timestamp || !e.Leaf.Extensions.CTLPoisonByte {
			t.Errorf("type %d timestamp %d poison %v, want precert %d true", e.Type, e.Timestamp, e.Leaf.Extensions.CTLPoisonByte, expected[5].Timestamp)
		}
		if !bytes.Equal(e.Leaf.DER, tl.Cert) || e.Leaf.SHA256 != sha256.Sum256(tl.Cert) {
			t.Error("the message certificate is not the submitted pre_certificate")
		}
		if !slices.Equal(e.Leaf.AllDomains, expected[5].AllDomains) {
			t.Errorf("all_domains %q, want %q", e.Leaf.AllDomains, expected[5].AllDomains)
		}
		if e.Chain == nil || len(e.Chain) != len(chain) {
			t.Errorf("chain %v, want %d certificates and never nil", e.Chain, len(chain))
		}
	}
}

// TestDecodeRFC6962PrecertWithoutPoison: ctlPoisonByte follows the entry
// type, not only the certificate's poison extension.
func TestDecodeRFC6962PrecertWithoutPoison(t *testing.T) {
	raw := fourEntries(t)[2]
	four, err := oracleRFC6962(raw.LeafInput, raw.ExtraData)
	if err != nil {
		t.Fatal(err)
	}
	leaf := merkleTreeLeaf(leafSpec{timestamp: 9, typ: 1, cert: []byte{0x30, 0}})
	e, err := DecodeRFC6962(2, leaf, extraData(four.cert, four.chain...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Leaf.Extensions.CTLPoisonByte || e.Type != wire.PrecertEntry || !bytes.Equal(e.Leaf.DER, four.cert) {
		t.Errorf("poison %v type %d: want a precert entry marked ctlPoisonByte", e.Leaf.Extensions.CTLPoisonByte, e.Type)
	}
	tl := TileLeaf{Type: wire.PrecertEntry, LeafIndex: 2, Cert: four.cert}
	if e, err := EntryFromTileLeaf(tl, nil); err != nil || !e.Leaf.Extensions.CTLPoisonByte {
		t.Errorf("tile precert without poison extension: err %v, entry %+v", err, e)
	}
}

func TestDecodeRFC6962Errors(t *testing.T) {
	raw := fourEntries(t)[0]
	garbage := []byte{0x30, 0x03, 1, 2, 3}
	for _, tc := range []struct {
		name        string
		leaf, extra []byte
		want        string
	}{
		{"framing", raw.LeafInput[:20], raw.ExtraData, "entry 7: leaf_input: x509 certificate at byte 12: length"},
		{"leaf DER", merkleTreeLeaf(leafSpec{cert: garbage}), raw.ExtraData, "entry 7: leaf certificate: "},
		{"pre_certificate DER", merkleTreeLeaf(leafSpec{typ: 1, cert: garbage}), extraData(garbage), "entry 7: pre_certificate: "},
		{"chain DER", raw.LeafInput, extraData(nil, garbage), "entry 7: chain certificate 0: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := DecodeRFC6962(7, tc.leaf, tc.extra, certfields.NewCache(4))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || e != nil {
				t.Fatalf("entry %v, err %v, want an error starting %q", e, err, tc.want)
			}
		})
	}
}

func TestEntryFromTileLeafNavigli(t *testing.T) {
	expected := expectedNavigliEntries(t)
	var tile3 []*wire.Entry
	for n := range 4 {
		for i, tl := range navigliTile(t, n) {
			exp := expected[n*TileWidth+i]
			e, err := EntryFromTileLeaf(tl, nil)
			if err != nil {
				t.Fatalf("entry %d: %v", exp.Index, err)
			}
			if e.Index != exp.Index || e.Timestamp != exp.Timestamp || e.Type != wire.PrecertEntry {
				t.Fatalf("entry %d: index %d timestamp %d type %d, want timestamp %d precert", exp.Index, e.Index, e.Timestamp, e.Type, exp.Timestamp)
			}
			if !slices.Equal(e.Leaf.AllDomains, exp.AllDomains) {
				t.Fatalf("entry %d: all_domains %q, want %q", exp.Index, e.Leaf.AllDomains, exp.AllDomains)
			}
			if !e.Leaf.Extensions.CTLPoisonByte || e.Chain != nil || e.Leaf.SHA256 != sha256.Sum256(tl.Cert) {
				t.Fatalf("entry %d: poison %v chain %v sha256 %x", exp.Index, e.Leaf.Extensions.CTLPoisonByte, e.Chain, e.Leaf.SHA256)
			}
			if n == 3 && i < 10 {
				tile3 = append(tile3, e)
			}
		}
	}
	partial, err := ParseDataTile(navigli(t, "tile", "data", "003.p", "10"), 3*TileWidth, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, tl := range partial {
		e, err := EntryFromTileLeaf(tl, nil)
		if err != nil || !reflect.DeepEqual(e, tile3[i]) {
			t.Fatalf("partial tile entry %d differs from the full tile's (err %v)", i, err)
		}
	}
}

func TestEntryFromTileLeafChain(t *testing.T) {
	raw := fourEntries(t)[1]
	four, err := oracleRFC6962(raw.LeafInput, raw.ExtraData)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := certfields.Parse(four.chain[0])
	if err != nil {
		t.Fatal(err)
	}
	fp := sha256.Sum256(four.chain[0])
	tile := tileLeaf(leafSpec{timestamp: 77, typ: 0, cert: four.cert, ext: leafIndexExt(300), fpBytes: fp[:]})
	leaves, err := ParseDataTile(tile, 300, 1)
	if err != nil {
		t.Fatal(err)
	}
	tl := leaves[0]
	e, err := EntryFromTileLeaf(tl, []*wire.Cert{issuer})
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != wire.X509Entry || e.Index != 300 || e.Timestamp != 77 || e.Leaf.Extensions.CTLPoisonByte ||
		e.Leaf.SHA256 != sha256.Sum256(four.cert) || len(e.Chain) != 1 || e.Chain[0] != issuer {
		t.Errorf("entry %+v", e)
	}
	if _, err := EntryFromTileLeaf(tl, []*wire.Cert{issuer, issuer}); err == nil || !strings.Contains(err.Error(), "entry 300: 2 chain certificates given for 1 fingerprints") {
		t.Errorf("chain length mismatch: err %v", err)
	}
	tl.Cert = []byte{0x30, 0}
	if _, err := EntryFromTileLeaf(tl, nil); err == nil || !strings.HasPrefix(err.Error(), "entry 300: leaf certificate: ") {
		t.Errorf("bad DER: err %v", err)
	}
	tl.Type = wire.PrecertEntry
	if _, err := EntryFromTileLeaf(tl, nil); err == nil || !strings.HasPrefix(err.Error(), "entry 300: pre_certificate: ") {
		t.Errorf("bad precert DER: err %v", err)
	}
}

func BenchmarkDecodeRFC6962(b *testing.B) {
	raw := fourEntries(b)[0]
	cache := certfields.NewCache(16)
	if _, err := DecodeRFC6962(0, raw.LeafInput, raw.ExtraData, cache); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw.LeafInput) + len(raw.ExtraData)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRFC6962(0, raw.LeafInput, raw.ExtraData, cache); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDataTile(b *testing.B) {
	data := navigli(b, "tile", "data", "000")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDataTile(data, 0, TileWidth); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEntryFromTileLeaf(b *testing.B) {
	leaves := navigliTile(b, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := EntryFromTileLeaf(leaves[i%len(leaves)], nil); err != nil {
			b.Fatal(fmt.Errorf("leaf %d: %w", i%len(leaves), err))
		}
		i++
	}
}
