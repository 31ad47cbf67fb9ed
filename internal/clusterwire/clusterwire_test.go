package clusterwire

import (
	"bytes"
	"os"
	"reflect"
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
	for i, u := range updates {
		got, err := Decode(Append(nil, u))
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

// Every truncation of a valid encoding, and trailing bytes, are errors.
func TestDecodeRejects(t *testing.T) {
	withChain, _ := realUpdates(t)
	b := Append(nil, withChain[0])
	for n := range len(b) {
		if _, err := Decode(b[:n]); err == nil {
			t.Fatalf("Decode of %d of %d bytes: no error", n, len(b))
		}
	}
	if _, err := Decode(append(b, 0)); err == nil {
		t.Error("Decode with a trailing byte: no error")
	}
	bad := append([]byte{}, b...)
	bad[0] = 2
	if _, err := Decode(bad); err == nil {
		t.Error("Decode of version 2: no error")
	}
}

func FuzzDecode(f *testing.F) {
	withChain, precerts := realUpdates(f)
	f.Add(Append(nil, withChain[0]))
	f.Add(Append(nil, precerts[0]))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := Decode(b)
		if err != nil {
			return
		}
		if again := Append(nil, u); !bytes.Equal(again, b) {
			// Equal updates may differ only in varint padding, which
			// Append never writes; a decoded update re-encodes stably.
			if u2, err := Decode(again); err != nil || !bytes.Equal(Append(nil, u2), again) {
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
				form += len(Append(nil, u))
				payloads += len(wire.AppendFull(nil, u)) + len(wire.AppendLite(nil, u)) + len(wire.AppendDomainsOnly(nil, u))
			}
			var buf []byte
			i := 0
			for b.Loop() {
				u := set.updates[i%len(set.updates)]
				buf = Append(buf[:0], u)
				if _, err := Decode(buf); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(form)/float64(len(set.updates)), "link-B/cert")
			b.ReportMetric(float64(payloads)/float64(len(set.updates)), "payloads-B/cert")
		})
	}
}
