package clusterwire

import (
	"bytes"
	"os"
	"reflect"
	"runtime"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
)

// realUpdates are updates of real CT entries: the 2013 RFC 6962 entries
// with their chains, and the 1,024 static-ct precerts (no chain).
func realUpdates(t testing.TB) (withChain, precerts []*wire.Update) {
	t.Helper()
	src := &wire.Source{Name: "Test Log", URL: "https://ct.example/log/"}
	update := func(e *wire.Entry) *wire.Update {
		return &wire.Update{Entry: *e, Source: src, CertLink: "https://ct.example/log/ct/v1/get-entries?start=1&end=1",
			Seen: 1_700_000_000_123}
	}
	cache := certfields.NewCache(64)
	for i, e := range fixtures.FourEntries(t) {
		entry, err := ctdecode.DecodeRFC6962(uint64(i), e.LeafInput, e.ExtraData, cache)
		if err != nil {
			t.Fatal(err)
		}
		withChain = append(withChain, update(entry))
	}
	for tile := range 4 {
		data, err := os.ReadFile(fixtures.Path(t, "static-ct", "navigli2025h2", "tile", "data", []string{"000", "001", "002", "003"}[tile]))
		if err != nil {
			t.Fatal(err)
		}
		leaves, err := ctdecode.ParseDataTile(data, uint64(tile*256), 256)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leaves {
			entry, err := ctdecode.EntryFromTileLeaf(l, nil)
			if err != nil {
				t.Fatal(err)
			}
			precerts = append(precerts, update(entry))
		}
	}
	return withChain, precerts
}

// Every real update decodes to an equal update, which the wire encoders
// turn into the same bytes as the original for every stream.
func TestRoundTrip(t *testing.T) {
	withChain, precerts := realUpdates(t)
	updates := append(append([]*wire.Update{}, withChain...), precerts...)
	updates = append(updates, &wire.Update{}, &wire.Update{Entry: wire.Entry{Chain: []*wire.Cert{}}})
	updates = append(updates, withChain...) // again: their chains now come from the decoder's memory
	d := NewDecoder(2)                      // fewer than the fixtures' issuers: some are forgotten on the way
	for i, u := range updates {
		got, err := d.Decode(Encode(u))
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		for _, enc := range []func([]byte, *wire.Update) []byte{wire.AppendFull, wire.AppendLite, wire.AppendDomainsOnly} {
			if a, b := enc(nil, u), enc(nil, got); !bytes.Equal(a, b) {
				t.Fatalf("update %d serializes differently after the link:\n%s\n%s", i, a, b)
			}
		}
		if u.Source == nil {
			u = &wire.Update{Entry: u.Entry, Source: &wire.Source{}}
		}
		if !reflect.DeepEqual(normalize(u), normalize(got)) {
			t.Fatalf("update %d differs after the link:\n%+v\n%+v", i, u, got)
		}
	}
	if len(withChain) == 0 || withChain[0].Chain == nil || len(precerts) != 1024 {
		t.Fatalf("fixtures: %d with chain, %d precerts", len(withChain), len(precerts))
	}
}

// normalize makes an empty AllDomains nil (the encoders write both as []).
func normalize(u *wire.Update) *wire.Update {
	c := *u
	fix := func(x *wire.Cert) *wire.Cert {
		if x == nil || len(x.AllDomains) > 0 {
			return x
		}
		y := *x
		y.AllDomains = nil
		return &y
	}
	c.Leaf = fix(c.Leaf)
	if c.Chain != nil {
		c.Chain = make([]*wire.Cert, len(u.Chain))
		for i, x := range u.Chain {
			c.Chain[i] = fix(x)
		}
	}
	return &c
}

// Encode allocates once for real certificates: its size estimate holds.
func TestEncodeAllocatesOnce(t *testing.T) {
	withChain, precerts := realUpdates(t)
	for i, u := range append(withChain, precerts...) {
		if n := testing.AllocsPerRun(3, func() { Encode(u) }); n != 1 {
			t.Fatalf("update %d: %v allocations", i, n)
		}
	}
}

// A Decoder returns one *wire.Cert for a chain certificate it has seen,
// however many updates name it, and forgets the oldest beyond its size.
func TestDecoderSharesChainCerts(t *testing.T) {
	withChain, _ := realUpdates(t)
	u := withChain[0]
	if len(u.Chain) == 0 {
		t.Fatal("fixture has no chain")
	}
	d := NewDecoder(len(u.Chain))
	first, err := d.Decode(Encode(u))
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.Decode(Encode(u))
	if err != nil {
		t.Fatal(err)
	}
	if first.Leaf == second.Leaf {
		t.Error("the leaf is shared between updates")
	}
	for i := range u.Chain {
		if first.Chain[i] != second.Chain[i] {
			t.Errorf("chain certificate %d decoded twice", i)
		}
	}
	other := &wire.Update{Entry: wire.Entry{Chain: []*wire.Cert{withChain[0].Leaf}}}
	for range len(u.Chain) { // as many new chain certificates as it keeps
		if _, err := d.Decode(Encode(other)); err != nil {
			t.Fatal(err)
		}
		other.Chain[0] = &wire.Cert{DER: append([]byte{byte(len(other.Chain[0].DER))}, other.Chain[0].DER...)}
	}
	third, err := d.Decode(Encode(u))
	if err != nil {
		t.Fatal(err)
	}
	if third.Chain[0] == first.Chain[0] {
		t.Error("the oldest chain certificate was kept beyond the decoder's size")
	}
	if !reflect.DeepEqual(third.Chain[0], first.Chain[0]) {
		t.Error("a chain certificate decoded again differs")
	}
}

// Every truncation of a valid encoding, and trailing bytes, are errors —
// also when the decoder knows the chain and only skips over it.
func TestDecodeRejects(t *testing.T) {
	withChain, _ := realUpdates(t)
	b := Encode(withChain[0])
	warm := NewDecoder(8)
	if _, err := warm.Decode(b); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*Decoder{"fresh": nil, "knowing the chain": warm} {
		decode := func(b []byte) error {
			if d == nil {
				_, err := NewDecoder(8).Decode(b)
				return err
			}
			_, err := d.Decode(b)
			return err
		}
		for n := range len(b) {
			if decode(b[:n]) == nil {
				t.Fatalf("%s: Decode of %d of %d bytes: no error", name, n, len(b))
			}
		}
		if decode(append(b, 0)) == nil {
			t.Errorf("%s: Decode with a trailing byte: no error", name)
		}
		bad := append([]byte{}, b...)
		bad[0] = 2
		if decode(bad) == nil {
			t.Errorf("%s: Decode of version 2: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	withChain, precerts := realUpdates(f)
	f.Add(Encode(withChain[0]))
	f.Add(Encode(precerts[0]))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(8)
		u, err := d.Decode(b)
		if err != nil {
			return
		}
		// Decoded again, its chain comes from the decoder's memory: the same update.
		if u2, err := d.Decode(b); err != nil || !reflect.DeepEqual(u, u2) {
			t.Fatalf("decoding again with the chain known: %v", err)
		}
		if again := Encode(u); !bytes.Equal(again, b) {
			// Equal updates may differ only in varint padding, which
			// Encode never writes; a decoded update re-encodes stably.
			if u2, err := NewDecoder(8).Decode(again); err != nil || !bytes.Equal(Encode(u2), again) {
				t.Fatalf("re-encoding is not stable: %v", err)
			}
		}
	})
}

// BenchmarkLinkBytes reports the bytes one certificate takes on the link in
// this form and, for comparison, the three serialized payloads an edge would
// otherwise need (full + lite + domains-only).
func BenchmarkLinkBytes(b *testing.B) {
	withChain, precerts := realUpdates(b)
	for _, set := range []struct {
		name    string
		updates []*wire.Update
	}{{"with-chain", withChain}, {"precert-no-chain", precerts}} {
		b.Run(set.name, func(b *testing.B) {
			var form, payloads int
			for _, u := range set.updates {
				form += len(Encode(u))
				payloads += len(wire.AppendFull(nil, u)) + len(wire.AppendLite(nil, u)) + len(wire.AppendDomainsOnly(nil, u))
			}
			var buf []byte
			d := NewDecoder(64)
			i := 0
			for b.Loop() {
				u := set.updates[i%len(set.updates)]
				buf = appendUpdate(buf[:0], u)
				if _, err := d.Decode(buf); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(form)/float64(len(set.updates)), "link-B/cert")
			b.ReportMetric(float64(payloads)/float64(len(set.updates)), "payloads-B/cert")
		})
	}
}

// BenchmarkHeldBytes reports the heap an edge holds per decoded certificate
// (the navigli precertificates given a real three-certificate chain, as a
// replay window keeps them) when each is decoded alone and when one Decoder
// shares the chain between them:
// go test -run '^$' -bench HeldBytes ./internal/clusterwire/
func BenchmarkHeldBytes(b *testing.B) {
	withChain, precerts := realUpdates(b)
	var chain []*wire.Cert
	for _, u := range withChain {
		if len(u.Chain) > len(chain) {
			chain = u.Chain
		}
	}
	var encoded [][]byte
	for _, u := range precerts {
		v := *u
		v.Chain = chain
		encoded = append(encoded, Encode(&v))
	}
	for _, shared := range []bool{false, true} {
		b.Run(map[bool]string{false: "decoded-alone", true: "chain-shared"}[shared], func(b *testing.B) {
			var perCert float64
			for b.Loop() {
				held := make([]*wire.Update, len(encoded))
				d := NewDecoder(64)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i, e := range encoded {
					if !shared {
						d = NewDecoder(1)
					}
					u, err := d.Decode(e)
					if err != nil {
						b.Fatal(err)
					}
					held[i] = u
				}
				d = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				perCert = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(held))
				runtime.KeepAlive(held)
			}
			b.ReportMetric(perCert, "held-B/cert")
		})
	}
}

// BenchmarkEncode compares Encode with appending to an empty slice, which
// grows it about ten times per certificate:
// go test -run '^$' -bench Encode ./internal/clusterwire/
func BenchmarkEncode(b *testing.B) {
	withChain, precerts := realUpdates(b)
	updates := append(withChain, precerts...)
	for name, encode := range map[string]func(*wire.Update) []byte{
		"sized": Encode,
		"grown": func(u *wire.Update) []byte { return appendUpdate(nil, u) },
	} {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				encode(updates[i%len(updates)])
				i++
			}
		})
	}
}
