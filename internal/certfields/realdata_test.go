package certfields_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
)

// crossCheck compares the fields of c with what the standard library's
// independent parser reads from der.
func crossCheck(t *testing.T, what string, der []byte, c *wire.Cert) {
	t.Helper()
	std, err := x509.ParseCertificate(der)
	if err != nil {
		t.Errorf("%s: crypto/x509 cannot parse it: %v", what, err)
		return
	}
	var errs []string
	check := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			errs = append(errs, fmt.Sprintf("%s = %v, want %v", field, got, want))
		}
	}
	check("subject CN", c.Subject.CN, std.Subject.CommonName)
	check("issuer CN", c.Issuer.CN, std.Issuer.CommonName)
	check("serial_number", c.SerialNumber, fmt.Sprintf("%02X", std.SerialNumber.Bytes()))
	check("not_before", c.NotBefore, std.NotBefore.Unix())
	check("not_after", c.NotAfter, std.NotAfter.Unix())
	check("sha256", c.SHA256, sha256.Sum256(der))
	check("is_ca", c.IsCA, std.IsCA)
	check("signature_algorithm", c.SignatureAlgorithm, map[x509.SignatureAlgorithm]string{
		x509.MD2WithRSA: "md2, rsa", x509.MD5WithRSA: "md5, rsa", x509.SHA1WithRSA: "sha1, rsa", x509.SHA256WithRSA: "sha256, rsa", x509.SHA384WithRSA: "sha384, rsa",
		x509.ECDSAWithSHA256: "ecdsa, sha256", x509.ECDSAWithSHA384: "ecdsa, sha384",
	}[std.SignatureAlgorithm])
	var domains []string
	if std.Subject.CommonName != "" && !std.IsCA {
		domains = append(domains, std.Subject.CommonName)
	}
	for _, d := range std.DNSNames {
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	check("all_domains", c.AllDomains, domains)
	if len(std.SubjectKeyId) > 0 {
		check("subjectKeyIdentifier", c.Extensions.SubjectKeyIdentifier, "keyid:"+colonHex(std.SubjectKeyId))
	}
	if len(std.AuthorityKeyId) > 0 {
		check("authorityKeyIdentifier", c.Extensions.AuthorityKeyIdentifier, "keyid:"+colonHex(std.AuthorityKeyId))
	}
	for _, e := range errs {
		t.Errorf("%s: %s", what, e)
	}
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// tileLeaf is what this test needs from a static-ct TileLeaf.
type tileLeaf struct {
	timestamp uint64
	preCert   []byte // the submitted pre-certificate, poison included
}

// readPrecertTileLeaves splits a static-ct data tile whose entries are all
// precerts (ct-protocols.md: TimestampedEntry ‖ ASN.1Cert pre_certificate ‖
// uint16 byte-length ‖ fingerprints).
func readPrecertTileLeaves(t testing.TB, tile []byte) []tileLeaf {
	t.Helper()
	s := cryptobyte.String(tile)
	var leaves []tileLeaf
	for !s.Empty() {
		var l tileLeaf
		var entryType uint16
		var tbs, exts, preCert, fingerprints cryptobyte.String
		if !s.ReadUint64(&l.timestamp) || !s.ReadUint16(&entryType) || entryType != 1 ||
			!s.Skip(32) || !s.ReadUint24LengthPrefixed(&tbs) || !s.ReadUint16LengthPrefixed(&exts) ||
			!s.ReadUint24LengthPrefixed(&preCert) || !s.ReadUint16LengthPrefixed(&fingerprints) {
			t.Fatalf("malformed precert tile leaf #%d", len(leaves))
		}
		l.preCert = preCert
		leaves = append(leaves, l)
	}
	return leaves
}

// TestStaticCTPrecerts parses 1024 real Let's Encrypt pre-certificates and
// checks all_domains against expected_all_domains.jsonl.
func TestStaticCTPrecerts(t *testing.T) {
	dir := fixtures.Path(t, "static-ct", "navigli2025h2")
	var leaves []tileLeaf
	for _, name := range []string{"000", "001", "002", "003"} {
		tile, err := os.ReadFile(filepath.Join(dir, "tile", "data", name))
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, readPrecertTileLeaves(t, tile)...)
	}
	f, err := os.Open(filepath.Join(dir, "expected_all_domains.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	n := 0
	for ; lines.Scan(); n++ {
		var want struct {
			Index      int      `json:"index"`
			Timestamp  uint64   `json:"timestamp"`
			AllDomains []string `json:"all_domains"`
		}
		if err := json.Unmarshal(lines.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if want.Index != n || n >= len(leaves) || leaves[n].timestamp != want.Timestamp {
			t.Fatalf("line %d (index %d) does not match tile leaf %d of %d", n, want.Index, n, len(leaves))
		}
		c, err := certfields.Parse(leaves[n].preCert)
		if err != nil {
			t.Errorf("entry %d: %v", n, err)
			continue
		}
		if !slices.Equal(c.AllDomains, want.AllDomains) {
			t.Errorf("entry %d: all_domains = %q, want %q", n, c.AllDomains, want.AllDomains)
		}
		if !c.Extensions.CTLPoisonByte {
			t.Errorf("entry %d: pre-certificate without ctlPoisonByte", n)
		}
		crossCheck(t, fmt.Sprintf("entry %d", n), leaves[n].preCert, c)
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1024 || len(leaves) != 1024 {
		t.Errorf("checked %d expected lines against %d tile leaves, want 1024", n, len(leaves))
	}
}

// TestRFC6962Entries parses the leaves and chains of four real 2013 entries
// (SHA-1 era certificates), the chains through a Cache.
func TestRFC6962Entries(t *testing.T) {
	entries := fourEntries(t)
	cache := certfields.NewCache(8)
	chainCerts := map[*wire.Cert]bool{}
	for i, e := range entries {
		c, err := certfields.Parse(e.leaf)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		crossCheck(t, fmt.Sprintf("entry %d leaf", i), e.leaf, c)
		for j, issuer := range e.chain {
			ic, err := cache.Parse(issuer)
			if err != nil {
				t.Fatalf("entry %d chain %d: %v", i, j, err)
			}
			crossCheck(t, fmt.Sprintf("entry %d chain %d", i, j), issuer, ic)
			if !bytes.Equal(ic.DER, issuer) {
				t.Errorf("entry %d chain %d: cached DER differs", i, j)
			}
			chainCerts[ic] = true
		}
	}
	if len(chainCerts) == 0 {
		t.Error("no chain certificates")
	}
	t.Logf("%d entries, %d distinct chain certificates", len(entries), len(chainCerts))
}

// rfc6962Entry is a 2013 x509 entry's leaf and chain DER.
type rfc6962Entry struct {
	leaf  []byte
	chain [][]byte
}

// fourEntries reads the four real 2013 RFC 6962 entries (all x509 entries).
func fourEntries(t testing.TB) []rfc6962Entry {
	t.Helper()
	var out []rfc6962Entry
	for i, e := range fixtures.FourEntries(t) {
		leaf, extra := cryptobyte.String(e.LeafInput), cryptobyte.String(e.ExtraData)
		var der, chain cryptobyte.String
		var entryType uint16
		if !leaf.Skip(2+8) || !leaf.ReadUint16(&entryType) || entryType != 0 || !leaf.ReadUint24LengthPrefixed(&der) ||
			!extra.ReadUint24LengthPrefixed(&chain) {
			t.Fatalf("entry %d: malformed", i)
		}
		ent := rfc6962Entry{leaf: der}
		for !chain.Empty() {
			var c cryptobyte.String
			if !chain.ReadUint24LengthPrefixed(&c) {
				t.Fatalf("entry %d: malformed chain", i)
			}
			ent.chain = append(ent.chain, c)
		}
		out = append(out, ent)
	}
	return out
}

// snapshotDERs returns the certificates of parser-snapshots/synthetic.json.
func snapshotDERs(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "parser-snapshots", "synthetic.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snaps []struct {
		DER string `json:"der_b64"`
	}
	if err := json.Unmarshal(data, &snaps); err != nil {
		t.Fatal(err)
	}
	ders := make([][]byte, len(snaps))
	for i, s := range snaps {
		if ders[i], err = base64.StdEncoding.DecodeString(s.DER); err != nil {
			t.Fatal(err)
		}
	}
	return ders
}

// BenchmarkParseLetsEncryptPrecert parses the 256 real pre-certificates of
// the first navigli data tile (RSA and ECDSA keys, typical Let's Encrypt
// extensions).
func BenchmarkParseLetsEncryptPrecert(b *testing.B) {
	tile, err := os.ReadFile(fixtures.Path(b, "static-ct", "navigli2025h2", "tile", "data", "000"))
	if err != nil {
		b.Fatal(err)
	}
	leaves := readPrecertTileLeaves(b, tile)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := certfields.Parse(leaves[i%len(leaves)].preCert); err != nil {
			b.Fatal(err)
		}
	}
}
