package ctdecode

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
)

// fourEntries loads the real 2013 get-entries response.
func fourEntries(t testing.TB) []fixtures.RawEntry {
	t.Helper()
	entries := fixtures.FourEntries(t)
	if len(entries) != 4 {
		t.Fatalf("FourEntries holds %d entries", len(entries))
	}
	return entries
}

// navigli reads a file of the navigli2025h2 static-ct log.
func navigli(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, append([]string{"static-ct", "navigli2025h2"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectedNavigli is one line of expected_all_domains.jsonl.
type expectedNavigli struct {
	Index      uint64   `json:"index"`
	Timestamp  uint64   `json:"timestamp"`
	AllDomains []string `json:"all_domains"`
}

func expectedNavigliEntries(t testing.TB) []expectedNavigli {
	t.Helper()
	f, err := os.Open(fixtures.Path(t, "static-ct", "navigli2025h2", "expected_all_domains.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expectedNavigli
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e expectedNavigli
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1024 {
		t.Fatalf("expected_all_domains.jsonl holds %d lines, want 1024", len(out))
	}
	return out
}

// leafSpec describes a synthetic TimestampedEntry / TileLeaf.
type leafSpec struct {
	timestamp uint64
	typ       uint16
	cert      []byte // x509 DER, or the TBS for precerts
	preCert   []byte // tile leaves: the pre_certificate of a precert
	ext       []byte // raw CtExtensions body
	fpBytes   []byte // raw chain fingerprint bytes (tile leaves)
}

// leafIndexExt is a CtExtensions body holding one leaf_index extension.
func leafIndexExt(index uint64) []byte {
	var b cryptobyte.Builder
	b.AddUint8(0)
	b.AddUint16(5)
	b.AddUint8(uint8(index >> 32))
	b.AddUint32(uint32(index))
	return b.BytesOrPanic()
}

func addCert(b *cryptobyte.Builder, der []byte) {
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
}

func addTimestampedEntry(b *cryptobyte.Builder, s leafSpec) {
	b.AddUint64(s.timestamp)
	b.AddUint16(s.typ)
	if s.typ == uint16(wire.PrecertEntry) {
		b.AddBytes(make([]byte, 32)) // issuer_key_hash
	}
	addCert(b, s.cert)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.ext) })
}

// merkleTreeLeaf encodes s as an RFC 6962 leaf_input.
func merkleTreeLeaf(s leafSpec) []byte {
	var b cryptobyte.Builder
	b.AddUint8(0)
	b.AddUint8(0)
	addTimestampedEntry(&b, s)
	return b.BytesOrPanic()
}

// tileLeaf encodes s as a static-ct TileLeaf.
func tileLeaf(s leafSpec) []byte {
	var b cryptobyte.Builder
	addTimestampedEntry(&b, s)
	if s.typ == uint16(wire.PrecertEntry) {
		addCert(&b, s.preCert)
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.fpBytes) })
	return b.BytesOrPanic()
}

// extraData encodes an RFC 6962 extra_data: the pre_certificate (precerts
// only, when non-nil) and the chain.
func extraData(preCert []byte, chain ...[]byte) []byte {
	var b cryptobyte.Builder
	if preCert != nil {
		addCert(&b, preCert)
	}
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range chain {
			addCert(b, c)
		}
	})
	return b.BytesOrPanic()
}
