package ctdecode

import (
	"bytes"
	"strings"
	"testing"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"

	"github.com/certstream/certstream/internal/wire"
)

// oracleRFC6962 frames an entry with certificate-transparency-go's
// reflection-based TLS codec, as an independent reference.
func oracleRFC6962(leafInput, extra []byte) (rfc6962Entry, error) {
	var e rfc6962Entry
	var leaf ct.MerkleTreeLeaf
	if rest, err := cttls.Unmarshal(leafInput, &leaf); err != nil {
		return e, err
	} else if len(rest) != 0 {
		return e, errTrailing
	}
	te := leaf.TimestampedEntry
	e.timestamp, e.typ = te.Timestamp, wire.EntryType(te.EntryType)
	var chain []ct.ASN1Cert
	switch te.EntryType {
	case ct.X509LogEntryType:
		e.cert = te.X509Entry.Data
		var c ct.CertificateChain
		if rest, err := cttls.Unmarshal(extra, &c); err != nil {
			return e, err
		} else if len(rest) != 0 {
			return e, errTrailing
		}
		chain = c.Entries
	case ct.PrecertLogEntryType:
		var c ct.PrecertChainEntry
		if rest, err := cttls.Unmarshal(extra, &c); err != nil {
			return e, err
		} else if len(rest) != 0 {
			return e, errTrailing
		}
		e.cert = c.PreCertificate.Data
		chain = c.CertificateChain
	}
	e.chain = [][]byte{}
	for _, c := range chain {
		e.chain = append(e.chain, c.Data)
	}
	return e, nil
}

type testError string

func (e testError) Error() string { return string(e) }

const errTrailing = testError("trailing data")

func sameFraming(t testing.TB, got, want rfc6962Entry) {
	t.Helper()
	if got.typ != want.typ || got.timestamp != want.timestamp {
		t.Fatalf("type/timestamp %d/%d, oracle %d/%d", got.typ, got.timestamp, want.typ, want.timestamp)
	}
	if !bytes.Equal(got.cert, want.cert) {
		t.Fatalf("certificate differs from the oracle's (%d vs %d bytes)", len(got.cert), len(want.cert))
	}
	if len(got.chain) != len(want.chain) {
		t.Fatalf("chain of %d, oracle %d", len(got.chain), len(want.chain))
	}
	for i := range got.chain {
		if !bytes.Equal(got.chain[i], want.chain[i]) {
			t.Fatalf("chain certificate %d differs from the oracle's", i)
		}
	}
}

func TestSplitRFC6962FourEntries(t *testing.T) {
	for i, e := range fourEntries(t) {
		got, err := splitRFC6962(e.LeafInput, e.ExtraData)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		want, err := oracleRFC6962(e.LeafInput, e.ExtraData)
		if err != nil {
			t.Fatalf("entry %d: oracle: %v", i, err)
		}
		sameFraming(t, got, want)
		if got.typ != wire.X509Entry || len(got.chain) == 0 {
			t.Errorf("entry %d: type %d, chain of %d; the 2013 entries are x509 with chains", i, got.typ, len(got.chain))
		}
		if got.timestamp < 1356998400000 || got.timestamp > 1388534400000 { // 2013
			t.Errorf("entry %d: timestamp %d is not in 2013", i, got.timestamp)
		}
	}
}

func TestSplitRFC6962Precert(t *testing.T) {
	tbs, pre := []byte{0x30, 1, 2}, []byte{0x30, 3, 4, 5}
	issuer1, issuer2 := []byte{0x30, 6}, []byte{0x30, 7, 8}
	leaf := merkleTreeLeaf(leafSpec{timestamp: 1234, typ: 1, cert: tbs, ext: []byte{9, 9}})
	extra := extraData(pre, issuer1, issuer2)
	got, err := splitRFC6962(leaf, extra)
	if err != nil {
		t.Fatal(err)
	}
	want, err := oracleRFC6962(leaf, extra)
	if err != nil {
		t.Fatal(err)
	}
	sameFraming(t, got, want)
	if !bytes.Equal(got.cert, pre) || got.typ != wire.PrecertEntry || got.timestamp != 1234 {
		t.Errorf("got type %d ts %d cert %x, want the pre_certificate %x", got.typ, got.timestamp, got.cert, pre)
	}

	// An empty chain is a non-nil empty slice.
	got, err = splitRFC6962(leaf, extraData(pre))
	if err != nil || got.chain == nil || len(got.chain) != 0 {
		t.Errorf("empty chain: %v, %#v", err, got.chain)
	}
}

// TestSplitRFC6962Truncated cuts every real entry at every length.
func TestSplitRFC6962Truncated(t *testing.T) {
	e := fourEntries(t)[0]
	for n := range len(e.LeafInput) {
		if _, err := splitRFC6962(e.LeafInput[:n], e.ExtraData); err == nil || !strings.HasPrefix(err.Error(), "leaf_input: ") {
			t.Fatalf("leaf_input cut to %d bytes: err %v", n, err)
		}
	}
	for n := range len(e.ExtraData) {
		if _, err := splitRFC6962(e.LeafInput, e.ExtraData[:n]); err == nil || !strings.HasPrefix(err.Error(), "extra_data: ") {
			t.Fatalf("extra_data cut to %d bytes: err %v", n, err)
		}
	}
}

func TestSplitRFC6962Errors(t *testing.T) {
	real := fourEntries(t)[0]
	set := func(b []byte, at int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[at:], v)
		return c
	}
	x509Leaf := merkleTreeLeaf(leafSpec{typ: 0, cert: []byte{0x30, 0}})
	precertLeaf := merkleTreeLeaf(leafSpec{typ: 1, cert: []byte{0x30, 0}})
	for _, tc := range []struct {
		name        string
		leaf, extra []byte
		want        string
	}{
		{"empty leaf_input", nil, real.ExtraData, "leaf_input: version at byte 0: need 1 bytes, only 0 left"},
		{"bad version", set(real.LeafInput, 0, 1), real.ExtraData, "leaf_input: version at byte 0: unknown version 1"},
		{"bad leaf type", set(real.LeafInput, 1, 7), real.ExtraData, "leaf_input: leaf_type at byte 1: unknown leaf type 7"},
		{"unknown entry type", set(real.LeafInput, 10, 0, 2), real.ExtraData, "leaf_input: entry_type at byte 10: unknown type 2"},
		{"json entry type", set(real.LeafInput, 10, 0x80, 0), real.ExtraData, "leaf_input: entry_type at byte 10: unknown type 32768"},
		{"leaf cert too long", set(real.LeafInput, 12, 0xff), real.ExtraData, "leaf_input: x509 certificate at byte 12: length 16"},
		{"empty leaf cert", merkleTreeLeaf(leafSpec{cert: nil}), extraData(nil), "leaf_input: x509 certificate at byte 12: empty certificate"},
		{"trailing leaf_input", append(bytes.Clone(real.LeafInput), 0), real.ExtraData, "leaf_input: 1 trailing bytes at byte"},
		{"trailing extra_data", real.LeafInput, append(bytes.Clone(real.ExtraData), 1, 2), "extra_data: 2 trailing bytes at byte"},
		{"chain total too long", real.LeafInput, set(real.ExtraData, 0, 0xff), "extra_data: certificate_chain at byte 0: length 16"},
		{"chain cert too long", real.LeafInput, set(real.ExtraData, 3, 0xff), "extra_data: chain certificate at byte 3: length 16"},
		{"chain cert length cut", x509Leaf, []byte{0, 0, 2, 0, 0}, "extra_data: chain certificate length at byte 3: need 3 bytes, only 2 left (chain position 0)"},
		{"empty chain cert", x509Leaf, []byte{0, 0, 3, 0, 0, 0}, "extra_data: chain certificate at byte 3: empty certificate (chain position 0)"},
		{"empty extra_data", x509Leaf, nil, "extra_data: certificate_chain length at byte 0: need 3 bytes, only 0 left"},
		{"precert without pre_certificate", precertLeaf, nil, "extra_data: pre_certificate length at byte 0"},
		{"pre_certificate too long", precertLeaf, []byte{0, 0, 9, 0x30}, "extra_data: pre_certificate at byte 0: length 9 exceeds the 1 bytes left"},
		{"precert without chain", precertLeaf, []byte{0, 0, 1, 0x30}, "extra_data: certificate_chain length at byte 4: need 3 bytes, only 0 left"},
		{"extensions too long", append(bytes.Clone(x509Leaf[:len(x509Leaf)-2]), 0, 1), extraData(nil), "leaf_input: extensions at byte 17: length 1 exceeds the 0 bytes left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := splitRFC6962(tc.leaf, tc.extra)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
