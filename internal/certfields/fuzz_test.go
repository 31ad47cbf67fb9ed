package certfields_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/wire"
)

// FuzzParse checks that no input panics Parse and that whatever it accepts
// encodes to valid JSON.
func FuzzParse(f *testing.F) {
	for _, der := range snapshotDERs(f) {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := certfields.Parse(der)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Cert with an error")
			}
			return
		}
		if !bytes.Equal(c.DER, der) || c.SHA256 != sha256.Sum256(der) {
			t.Fatal("Cert does not describe its input")
		}
		u := &wire.Update{Entry: wire.Entry{Leaf: c, Chain: []*wire.Cert{c}}}
		if msg := wire.AppendFull(nil, u); !json.Valid(msg) {
			t.Fatalf("invalid JSON: %s", msg)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	ders := snapshotDERs(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := certfields.Parse(ders[i%len(ders)]); err != nil {
			b.Fatal(err)
		}
	}
}
