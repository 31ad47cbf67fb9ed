package fakelog

import (
	"bytes"
	"crypto/sha256"
	stdx509 "crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/asn1"
	cttls "github.com/google/certificate-transparency-go/tls"
	"github.com/google/certificate-transparency-go/x509"
)

// TestCertificatesAreReal parses every leaf with ct-go's and Go's parsers,
// checks the extensions, the poison of precerts, the issuer signature, and
// verifies final certificates up to the root.
func TestCertificatesAreReal(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "certs", PrecertFraction: 0.5})
	appendN(t, l, 64)
	inter, err := stdx509.ParseCertificate(s.CA().Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	roots := stdx509.NewCertPool()
	rootCert, err := stdx509.ParseCertificate(s.CA().Root)
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(rootCert)
	inters := stdx509.NewCertPool()
	inters.AddCert(inter)

	serials := map[string]bool{}
	precerts := 0
	for i := range int64(64) {
		e, ok := l.Entry(i)
		if !ok || e.Index != i || e.Garbage {
			t.Fatalf("entry %d: %+v, %v", i, e, ok)
		}
		c, err := x509.ParseCertificate(e.Certificate)
		if err != nil {
			t.Fatalf("entry %d: ct-go parse: %v", i, err)
		}
		if c.IsPrecertificate() != e.Precert {
			t.Errorf("entry %d: IsPrecertificate %v, Precert %v", i, c.IsPrecertificate(), e.Precert)
		}
		if e.Precert {
			precerts++
			if !hasCriticalPoison(c) {
				t.Errorf("entry %d: precert without critical poison", i)
			}
		}
		if n := len(c.DNSNames); n < 1 || n > 3 {
			t.Errorf("entry %d: %d SANs", i, n)
		}
		for _, n := range c.DNSNames {
			if !strings.HasSuffix(n, ".example.test") {
				t.Errorf("entry %d: SAN %q", i, n)
			}
		}
		if c.Subject.CommonName != c.DNSNames[0] {
			t.Errorf("entry %d: CN %q, first SAN %q", i, c.Subject.CommonName, c.DNSNames[0])
		}
		if c.IsCA || !c.BasicConstraintsValid || c.KeyUsage != x509.KeyUsageDigitalSignature ||
			len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth ||
			len(c.SubjectKeyId) != 20 || !bytes.Equal(c.AuthorityKeyId, inter.SubjectKeyId) ||
			len(c.IssuingCertificateURL) != 1 || len(c.OCSPServer) != 1 || len(c.PolicyIdentifiers) != 1 {
			t.Errorf("entry %d: unexpected extensions: CA %v BC %v KU %v EKU %v SKI %x AKI %x AIA %v OCSP %v policies %v",
				i, c.IsCA, c.BasicConstraintsValid, c.KeyUsage, c.ExtKeyUsage, c.SubjectKeyId, c.AuthorityKeyId,
				c.IssuingCertificateURL, c.OCSPServer, c.PolicyIdentifiers)
		}
		if serials[c.SerialNumber.String()] {
			t.Errorf("entry %d: duplicate serial %v", i, c.SerialNumber)
		}
		serials[c.SerialNumber.String()] = true

		sc, err := stdx509.ParseCertificate(e.Certificate)
		if err != nil {
			t.Fatalf("entry %d: crypto/x509 parse: %v", i, err)
		}
		if err := sc.CheckSignatureFrom(inter); err != nil {
			t.Errorf("entry %d: not signed by the intermediate: %v", i, err)
		}
		if !e.Precert {
			_, err := sc.Verify(stdx509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: sc.DNSNames[0],
				CurrentTime: time.Now(), KeyUsages: []stdx509.ExtKeyUsage{stdx509.ExtKeyUsageServerAuth}})
			if err != nil {
				t.Errorf("entry %d: chain verification: %v", i, err)
			}
		}
	}
	if precerts == 0 || precerts == 64 {
		t.Errorf("%d precerts out of 64 with fraction 0.5", precerts)
	}
}

// hasCriticalPoison reports whether c carries the critical CT poison extension.
func hasCriticalPoison(c *x509.Certificate) bool {
	poison := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	for _, ext := range c.Extensions {
		if ext.Id.Equal(poison) {
			return ext.Critical && bytes.Equal(ext.Value, []byte{0x05, 0x00})
		}
	}
	return false
}

// TestRFC6962Entries decodes get-entries with ct-go and checks precert
// leaves hold the poison-free TBS and the issuer key hash.
func TestRFC6962Entries(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "rfc", PrecertFraction: 0.5})
	before := time.Now().UnixMilli()
	appendN(t, l, 40)
	after := time.Now().UnixMilli()
	ikh := sha256.Sum256(mustParse(t, s.CA().Intermediate).RawSubjectPublicKeyInfo)

	entries := getEntries(t, l, 0, 39)
	if len(entries) != 40 {
		t.Fatalf("got %d entries, want 40", len(entries))
	}
	for i, raw := range entries {
		li, ed := l.RawEntry(int64(i))
		if !bytes.Equal(li, raw.LeafInput) || !bytes.Equal(ed, raw.ExtraData) {
			t.Fatalf("entry %d: served bytes differ from RawEntry", i)
		}
		le, err := ct.LogEntryFromLeaf(int64(i), &raw)
		if err != nil {
			t.Fatalf("entry %d: ct-go: %v", i, err)
		}
		want, _ := l.Entry(int64(i))
		ts := int64(le.Leaf.TimestampedEntry.Timestamp)
		if ts != want.Timestamp || ts < before || ts > after {
			t.Errorf("entry %d: timestamp %d, want %d within [%d, %d]", i, ts, want.Timestamp, before, after)
		}
		if len(le.Leaf.TimestampedEntry.Extensions) != 0 {
			t.Errorf("entry %d: RFC 6962 leaf with extensions", i)
		}
		if len(le.Chain) != 2 || !bytes.Equal(le.Chain[0].Data, s.CA().Intermediate) || !bytes.Equal(le.Chain[1].Data, s.CA().Root) {
			t.Errorf("entry %d: chain is not [intermediate, root]", i)
		}
		if !want.Precert {
			if le.X509Cert == nil || !bytes.Equal(le.X509Cert.Raw, want.Certificate) {
				t.Errorf("entry %d: x509 entry does not hold the certificate", i)
			}
			continue
		}
		if le.Precert == nil {
			t.Fatalf("entry %d: precert entry not decoded as precert", i)
		}
		if le.Precert.IssuerKeyHash != ikh {
			t.Errorf("entry %d: issuer_key_hash %x, want %x", i, le.Precert.IssuerKeyHash, ikh)
		}
		if !bytes.Equal(le.Precert.Submitted.Data, want.Certificate) {
			t.Errorf("entry %d: pre_certificate differs", i)
		}
		pre, err := x509.ParseCertificate(want.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		tbs, err := x509.RemoveCTPoison(pre.RawTBSCertificate)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(le.Leaf.TimestampedEntry.PrecertEntry.TBSCertificate, tbs) {
			t.Errorf("entry %d: leaf TBS is not the precert TBS without poison", i)
		}
		if hasCriticalPoison(le.Precert.TBSCertificate) {
			t.Errorf("entry %d: leaf TBS still carries the poison", i)
		}
	}
}

// mustParse parses a certificate with crypto/x509.
func mustParse(t testing.TB, der []byte) *stdx509.Certificate {
	t.Helper()
	c, err := stdx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSTH verifies get-sth's signature and recomputes its root from the
// leaves, across several appends and for the empty tree.
func TestSTH(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "sth", PrecertFraction: 0.3})
	var leaves [][]byte
	for _, n := range []int{0, 1, 2, 5, 57, 300} {
		appendN(t, l, n)
		for i := int64(len(leaves)); i < l.Size(); i++ {
			li, _ := l.RawEntry(i)
			leaves = append(leaves, li)
		}
		sth := getSTH(t, l)
		if sth.TreeSize != uint64(len(leaves)) {
			t.Fatalf("tree_size %d, want %d", sth.TreeSize, len(leaves))
		}
		if err := verifyTreeHead(l.PublicKey(), sth.TreeSize, sth.Timestamp, sth.SHA256RootHash, sth.TreeHeadSignature); err != nil {
			t.Fatalf("size %d: %v", sth.TreeSize, err)
		}
		if root := mth(leaves); !bytes.Equal(root[:], sth.SHA256RootHash) {
			t.Fatalf("size %d: root %x, recomputed %x", sth.TreeSize, sth.SHA256RootHash, root)
		}
		sth.SHA256RootHash[0] ^= 1
		if verifyTreeHead(l.PublicKey(), sth.TreeSize, sth.Timestamp, sth.SHA256RootHash, sth.TreeHeadSignature) == nil {
			t.Fatal("signature verified over a wrong root")
		}
	}
}

// TestGetEntriesPaging checks end-inclusive ranges, page caps, aligned
// pages, clamping at the tree end and 400s.
func TestGetEntriesPaging(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "paging", Faults: Faults{PageSize: 32}})
	appendN(t, l, 100)
	for _, tc := range []struct {
		start, end int64
		align      bool
		want       int
	}{
		{5, 5, false, 1},
		{0, 9, false, 10},
		{0, 99, false, 32},
		{90, 200, false, 10},
		{40, 99, false, 32},
		{40, 99, true, 24},
		{64, 70, true, 7},
		{99, 99, false, 1},
	} {
		if err := l.UpdateFaults(func(f *Faults) { f.AlignPages = tc.align }); err != nil {
			t.Fatal(err)
		}
		got := getEntries(t, l, tc.start, tc.end)
		if len(got) != tc.want {
			t.Errorf("start=%d end=%d align=%v: %d entries, want %d", tc.start, tc.end, tc.align, len(got), tc.want)
			continue
		}
		for k, e := range got {
			li, _ := l.RawEntry(tc.start + int64(k))
			if !bytes.Equal(e.LeafInput, li) {
				t.Errorf("start=%d: entry %d is not index %d", tc.start, k, tc.start+int64(k))
			}
		}
	}
	for _, q := range []string{"start=100&end=100", "start=150&end=200", "start=5&end=4", "start=-1&end=3",
		"start=a&end=3", "end=3", "start=0", ""} {
		if f := get(t, l.URL()+"ct/v1/get-entries?"+q); f.status != http.StatusBadRequest {
			t.Errorf("get-entries?%s: status %d, want 400", q, f.status)
		}
	}
	if f := get(t, l.URL()+"checkpoint"); f.status != http.StatusNotFound {
		t.Errorf("static-ct path on an RFC 6962 log: status %d", f.status)
	}
}

// TestAppendValidation rejects bad arguments and configurations.
func TestAppendValidation(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "v"})
	if err := l.Append(-1); err == nil {
		t.Error("Append(-1) accepted")
	}
	for _, cfg := range []LogConfig{
		{Name: ""}, {Name: "a/b"}, {Name: ".."}, {Name: "v"}, {Name: "x", Kind: 7},
		{Name: "y", PrecertFraction: 1.5}, {Name: "z", Faults: Faults{PageSize: -1}},
		{Name: "o", Kind: StaticCT, Origin: "bad origin"}, {Name: "m", MMD: -1},
	} {
		if _, err := s.AddLog(cfg); err == nil {
			t.Errorf("AddLog(%+v) accepted", cfg)
		}
	}
	if err := l.SetFaults(Faults{Delay: -time.Second}); err == nil {
		t.Error("negative Delay accepted")
	}
	if _, ok := l.Entry(0); ok {
		t.Error("Entry(0) of an empty log")
	}
	if li, ed := l.RawEntry(0); li != nil || ed != nil || l.TileLeaf(-1) != nil {
		t.Error("RawEntry/TileLeaf out of range returned data")
	}
}

// TestTimestampsMonotonic checks every batch's entries share one timestamp
// not older than the previous batch.
func TestTimestampsMonotonic(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "ts"})
	var prev int64
	for batch := range 5 {
		appendN(t, l, 3)
		first, _ := l.Entry(int64(batch * 3))
		for i := range int64(3) {
			e, _ := l.Entry(int64(batch*3) + i)
			if e.Timestamp != first.Timestamp || e.Timestamp < prev {
				t.Fatalf("batch %d entry %d: timestamp %d (first %d, previous batch %d)", batch, i, e.Timestamp, first.Timestamp, prev)
			}
		}
		if sth := l.STH(); sth.Timestamp < first.Timestamp {
			t.Fatalf("STH timestamp %d before entries %d", sth.Timestamp, first.Timestamp)
		}
		prev = first.Timestamp
	}
}

// TestGarbageLeaves checks garbage entries sit exactly at i%N == N-1 with
// valid framing and an unparseable certificate.
func TestGarbageLeaves(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "garbage", PrecertFraction: 0.5, Faults: Faults{GarbageLeafEvery: 5}})
	appendN(t, l, 23)
	for i, raw := range getEntries(t, l, 0, 22) {
		wantGarbage := i%5 == 4
		e, _ := l.Entry(int64(i))
		if e.Garbage != wantGarbage {
			t.Errorf("entry %d: Garbage %v, want %v", i, e.Garbage, wantGarbage)
		}
		var leaf ct.MerkleTreeLeaf
		if rest, err := cttls.Unmarshal(raw.LeafInput, &leaf); err != nil || len(rest) != 0 {
			t.Fatalf("entry %d: framing broken: %v", i, err)
		}
		_, err := ct.LogEntryFromLeaf(int64(i), &raw)
		if (err != nil) != wantGarbage {
			t.Errorf("entry %d: decode error %v, garbage %v", i, err, wantGarbage)
		}
		if wantGarbage && !bytes.Equal(leaf.TimestampedEntry.X509Entry.Data, e.Certificate) {
			t.Errorf("entry %d: leaf does not hold the garbage bytes", i)
		}
	}
	if err := l.UpdateFaults(func(f *Faults) { f.GarbageLeafEvery = 0 }); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 5)
	for i := int64(23); i < 28; i++ {
		if e, _ := l.Entry(i); e.Garbage {
			t.Errorf("entry %d garbage after GarbageLeafEvery was cleared", i)
		}
	}
}

// ExampleServer shows a test serving one log of each kind.
func ExampleServer() {
	s, err := NewServer()
	if err != nil {
		panic(err)
	}
	defer s.Close()
	rfc, _ := s.AddLog(LogConfig{Name: "argon", Kind: RFC6962, PrecertFraction: 0.5})
	tiled, _ := s.AddLog(LogConfig{Name: "sycamore", Kind: StaticCT})
	_ = rfc.Append(300)
	_ = tiled.Append(300)
	fmt.Println(rfc.Size(), tiled.Size(), strings.HasSuffix(tiled.URL(), "/logs/sycamore/"))
	// Output: 300 300 true
}
