package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
)

// snapshot is one entry of parser-snapshots/synthetic.json.
type snapshot struct {
	Name                string  `json:"name"`
	DERBase64           string  `json:"der_b64"`
	SubmissionTimestamp float64 `json:"submission_timestamp"`
	ExpectedFull        string  `json:"expected_full"`
	ExpectedLite        string  `json:"expected_lite"`
	ExpectedDomainsOnly string  `json:"expected_domains_only"`
}

func loadSnapshots(t testing.TB) []snapshot {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "parser-snapshots", "synthetic.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snaps []snapshot
	if err := json.Unmarshal(data, &snaps); err != nil {
		t.Fatalf("synthetic.json: %v", err)
	}
	if len(snaps) == 0 {
		t.Fatal("synthetic.json: no entries")
	}
	return snaps
}

// snapshotCert parses the fixture certificate.
func snapshotCert(t testing.TB, s snapshot) *wire.Cert {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(s.DERBase64)
	if err != nil {
		t.Fatalf("%s: der_b64: %v", s.Name, err)
	}
	c, err := certfields.Parse(der)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return c
}

// snapshotUpdate builds the Update of the fixture harness (testdata/README.md).
func snapshotUpdate(t testing.TB, s snapshot) *wire.Update {
	t.Helper()
	return &wire.Update{
		Entry: wire.Entry{
			Type:      wire.X509Entry,
			Index:     42,
			Timestamp: uint64(math.Round(s.SubmissionTimestamp * 1000)),
			Leaf:      snapshotCert(t, s),
		},
		Source:   &wire.Source{Name: "Snapshot Test Log", URL: "https://test.example/"},
		CertLink: "https://test.example/entry/42",
		Seen:     1700000000000,
	}
}

// diffAt describes the first difference between got and want.
func diffAt(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	context := func(s string) string {
		return s[max(i-40, 0):min(i+40, len(s))]
	}
	return fmt.Sprintf("first difference at byte %d (len got %d, want %d)\n got: …%s…\nwant: …%s…",
		i, len(got), len(want), context(got), context(want))
}

func TestSnapshotsByteExact(t *testing.T) {
	snaps := loadSnapshots(t)
	matched, total := 0, 0
	var buf []byte
	for _, s := range snaps {
		u := snapshotUpdate(t, s)
		for _, stream := range []struct {
			name   string
			encode func([]byte, *wire.Update) []byte
			want   string
		}{
			{"full", wire.AppendFull, s.ExpectedFull},
			{"lite", wire.AppendLite, s.ExpectedLite},
			{"domains_only", wire.AppendDomainsOnly, s.ExpectedDomainsOnly},
		} {
			total++
			buf = stream.encode(buf[:0], u)
			if got := string(buf); got != stream.want {
				t.Errorf("%s %s: %s", s.Name, stream.name, diffAt(got, stream.want))
				continue
			}
			matched++
		}
	}
	t.Logf("%d/%d snapshot messages match byte for byte", matched, total)
}

// leafObject cuts the leaf_cert object out of an expected lite message.
func leafObject(t *testing.T, lite string) string {
	t.Helper()
	_, rest, ok1 := strings.Cut(lite, `"leaf_cert":`)
	obj, _, ok2 := strings.Cut(rest, `,"cert_index":`)
	if !ok1 || !ok2 {
		t.Fatalf("no leaf_cert object in %q", lite)
	}
	return obj
}

// chainObject derives the expected ChainCert object of a fixture: its lite
// leaf_cert without all_domains (lite has no as_der already).
func chainObject(t *testing.T, s snapshot) string {
	t.Helper()
	leaf := leafObject(t, s.ExpectedLite)
	before, rest, ok1 := strings.Cut(leaf, `,"all_domains":[`)
	_, after, ok2 := strings.Cut(rest, `]`)
	if !ok1 || !ok2 {
		t.Fatalf("%s: no all_domains in %q", s.Name, leaf)
	}
	return before + after
}

// withChainKey inserts `,"chain":<chain>` before "cert_index" of a full message.
func withChainKey(t *testing.T, full, chain string) string {
	t.Helper()
	before, after, ok := strings.Cut(full, `,"cert_index":`)
	if !ok {
		t.Fatalf("no cert_index in %q", full)
	}
	return before + `,"chain":` + chain + `,"cert_index":` + after
}

func TestChain(t *testing.T) {
	snaps := loadSnapshots(t)
	leaf, issuer, root := snaps[0], snaps[4], snaps[8]
	u := snapshotUpdate(t, leaf)
	u.Chain = []*wire.Cert{snapshotCert(t, issuer), snapshotCert(t, root)}

	want := withChainKey(t, leaf.ExpectedFull, "["+chainObject(t, issuer)+","+chainObject(t, root)+"]")
	if got := string(wire.AppendFull(nil, u)); got != want {
		t.Errorf("full with a 2-cert chain: %s", diffAt(got, want))
	}
	if got := string(wire.AppendLite(nil, u)); got != leaf.ExpectedLite {
		t.Errorf("lite must not write the chain: %s", diffAt(got, leaf.ExpectedLite))
	}
	if got := string(wire.AppendDomainsOnly(nil, u)); got != leaf.ExpectedDomainsOnly {
		t.Errorf("domains-only must not write the chain: %s", diffAt(got, leaf.ExpectedDomainsOnly))
	}

	u.Chain = []*wire.Cert{}
	want = withChainKey(t, leaf.ExpectedFull, "[]")
	if got := string(wire.AppendFull(nil, u)); got != want {
		t.Errorf("full with an empty non-nil chain: %s", diffAt(got, want))
	}
	if got := string(wire.AppendLite(nil, u)); got != leaf.ExpectedLite {
		t.Errorf("lite with an empty chain: %s", diffAt(got, leaf.ExpectedLite))
	}
}

// testCert is a hand-filled Cert exercising every optional key and the
// string escaping rules.
func testCert() *wire.Cert {
	c := &wire.Cert{
		DER: []byte{0x30, 0x03, 0x02, 0x01, 0xff},
		Subject: wire.Name{
			C: "DE", CN: "a<b>&c\u2028\u2029\"q\"\\", L: "line\nbreak", O: "tab\tcr\rbs\bff\f",
			OU: "ctl\x00\x1f\x7f", ST: "bad\xff\xfeutf8\xe2\x82", EmailAddress: "x@example.test",
			Aggregated: "/C=DE",
		},
		Issuer:             wire.Name{},
		SerialNumber:       "00",
		NotBefore:          -1,
		NotAfter:           253402300799,
		SignatureAlgorithm: "ed25519",
		IsCA:               true,
		AllDomains:         []string{"ü.example.test", "*.example.test"},
		Extensions: wire.Extensions{
			Present:                       1<<9 - 1,
			AuthorityInfoAccess:           "URI:http://o.example/",
			AuthorityKeyIdentifier:        "keyid:01",
			BasicConstraints:              "CA:TRUE",
			CertificatePolicies:           "Policy: 2.23.140.1.2.1\n",
			CTLSignedCertificateTimestamp: "sct",
			ExtendedKeyUsage:              "",
			KeyUsage:                      "Certificate Signing",
			SubjectAltName:                "DNS:ü.example.test",
			SubjectKeyIdentifier:          "keyid:02",
			CTLPoisonByte:                 true,
		},
	}
	c.SHA1[0], c.SHA1[19] = 0xab, 0x0f
	c.SHA256[31] = 0xfe
	return c
}

func TestEncodingRules(t *testing.T) {
	u := &wire.Update{
		Entry: wire.Entry{
			Type: wire.PrecertEntry, Index: math.MaxUint64, Timestamp: 1779299687576,
			Leaf: testCert(), Chain: []*wire.Cert{testCert()},
		},
		Source:   &wire.Source{Name: "Log \"A\" <1>", URL: "https://log.example/a&b"},
		CertLink: "https://log.example/ct/v1/get-entries?start=1&end=1",
		Seen:     1700000000050,
	}
	full := string(wire.AppendFull(nil, u))
	for _, want := range []string{
		`{"message_type":"certificate_update","data":{"update_type":"PrecertLogEntry","leaf_cert":{"subject":{`,
		`"subject":{"C":"DE","CN":"a<b>&c` + "\u2028\u2029" + `\"q\"\\","L":"line\nbreak","O":"tab\tcr\rbs\bff\f",` +
			`"OU":"ctl\u0000\u001f` + "\x7f" + `","ST":"bad` + "\uFFFD" + `utf8` + "\uFFFD" + `",` +
			`"aggregated":"/C=DE","email_address":"x@example.test"}`,
		`"issuer":{"aggregated":""}`,
		`"serial_number":"00","not_before":-1,"not_after":253402300799,`,
		`"fingerprint":"AB:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0F",`,
		`"sha256":"00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:FE",`,
		`"signature_algorithm":"ed25519","is_ca":true,"all_domains":["ü.example.test","*.example.test"],"as_der":"MAMCAf8=",`,
		`"extensions":{"authorityInfoAccess":"URI:http://o.example/","authorityKeyIdentifier":"keyid:01",` +
			`"basicConstraints":"CA:TRUE","certificatePolicies":"Policy: 2.23.140.1.2.1\n",` +
			`"ctlSignedCertificateTimestamp":"sct","extendedKeyUsage":"","keyUsage":"Certificate Signing",` +
			`"subjectAltName":"DNS:ü.example.test","subjectKeyIdentifier":"keyid:02","ctlPoisonByte":true}}`,
		`,"chain":[{"subject":{`,
		`"is_ca":true,"extensions":{"authorityInfoAccess"`,
		`,"cert_index":18446744073709551615,"cert_link":"https://log.example/ct/v1/get-entries?start=1&end=1",` +
			`"seen":1700000000.05,"submission_timestamp":1779299687.576,` +
			`"source":{"name":"Log \"A\" <1>","url":"https://log.example/a&b"}}}`,
	} {
		if !strings.Contains(full, want) {
			t.Errorf("full message lacks\n%s\nin\n%s", want, full)
		}
	}
	if n := strings.Count(full, `"as_der"`); n != 1 {
		t.Errorf("as_der written %d times, want once (leaf only)", n)
	}
	if n := strings.Count(full, `"all_domains"`); n != 1 {
		t.Errorf("all_domains written %d times, want once (leaf only)", n)
	}

	// The output is valid JSON that decodes back to the certificate strings.
	var decoded struct {
		Data struct {
			Leaf struct {
				Subject    map[string]string `json:"subject"`
				AllDomains []string          `json:"all_domains"`
				AsDER      []byte            `json:"as_der"`
			} `json:"leaf_cert"`
			Chain []json.RawMessage `json:"chain"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(full), &decoded); err != nil {
		t.Fatalf("full message is not valid JSON: %v", err)
	}
	leaf, in := decoded.Data.Leaf, u.Leaf
	for key, want := range map[string]string{
		"CN": in.Subject.CN, "L": in.Subject.L, "O": in.Subject.O, "OU": in.Subject.OU,
		"ST":            "bad\uFFFDutf8\uFFFD", // one U+FFFD per invalid run
		"email_address": in.Subject.EmailAddress,
	} {
		if leaf.Subject[key] != want {
			t.Errorf("subject %s decodes to %q, want %q", key, leaf.Subject[key], want)
		}
	}
	if !bytes.Equal(leaf.AsDER, in.DER) || len(decoded.Data.Chain) != 1 ||
		strings.Join(leaf.AllDomains, " ") != strings.Join(in.AllDomains, " ") {
		t.Errorf("decoded leaf %+v, chain %d certs", leaf, len(decoded.Data.Chain))
	}
	for _, msg := range [][]byte{wire.AppendLite(nil, u), wire.AppendDomainsOnly(nil, u)} {
		if !json.Valid(msg) {
			t.Errorf("invalid JSON: %s", msg)
		}
	}
}

func TestPrecertEntryPoison(t *testing.T) {
	s := loadSnapshots(t)[7] // CN only: "extensions":{}
	u := snapshotUpdate(t, s)
	u.Type = wire.PrecertEntry
	u.Chain = []*wire.Cert{u.Leaf}
	want := strings.Replace(s.ExpectedFull, `"update_type":"X509LogEntry"`, `"update_type":"PrecertLogEntry"`, 1)
	want = strings.Replace(want, `"extensions":{}`, `"extensions":{"ctlPoisonByte":true}`, 1)
	want = withChainKey(t, want, "["+chainObject(t, s)+"]") // the chain cert keeps its own (absent) poison
	if got := string(wire.AppendFull(nil, u)); got != want {
		t.Errorf("precert entry: %s", diffAt(got, want))
	}
}

func TestHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{1700000000000, `{"message_type":"heartbeat","timestamp":1700000000.0}`},
		{1779299687576, `{"message_type":"heartbeat","timestamp":1779299687.576}`},
		{1700000000100, `{"message_type":"heartbeat","timestamp":1700000000.1}`},
		{0, `{"message_type":"heartbeat","timestamp":0.0}`},
	} {
		if got := string(wire.AppendHeartbeat(nil, tc.ms)); got != tc.want {
			t.Errorf("AppendHeartbeat(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
}

func TestNilLeafAndSource(t *testing.T) {
	u := &wire.Update{Entry: wire.Entry{Chain: []*wire.Cert{nil}}}
	for _, msg := range [][]byte{wire.AppendFull(nil, u), wire.AppendLite(nil, u), wire.AppendDomainsOnly(nil, u)} {
		if !json.Valid(msg) {
			t.Errorf("invalid JSON for an empty Update: %s", msg)
		}
	}
	if got, want := string(wire.AppendDomainsOnly(nil, u)), `{"message_type":"dns_entries","data":[]}`; got != want {
		t.Errorf("domains-only of an empty Update = %s, want %s", got, want)
	}
	if got := string(wire.AppendLite(nil, u)); !strings.HasSuffix(got, `"source":{"name":"","url":""}}}`) {
		t.Errorf("nil source not written as empty strings: %s", got)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	u := snapshotUpdate(t, loadSnapshots(t)[4])
	u.Chain = []*wire.Cert{u.Leaf}
	buf := make([]byte, 0, 16<<10)
	for _, stream := range []struct {
		name   string
		encode func([]byte, *wire.Update) []byte
	}{
		{"full", wire.AppendFull}, {"lite", wire.AppendLite}, {"domains_only", wire.AppendDomainsOnly},
	} {
		if n := testing.AllocsPerRun(100, func() { buf = stream.encode(buf[:0], u) }); n != 0 {
			t.Errorf("%s: %.1f allocations per message with a reused buffer, want 0", stream.name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { buf = wire.AppendHeartbeat(buf[:0], 1779299687576) }); n != 0 {
		t.Errorf("heartbeat: %.1f allocations, want 0", n)
	}
}

func benchmarkAppend(b *testing.B, encode func([]byte, *wire.Update) []byte) {
	snaps := loadSnapshots(b)
	updates := make([]*wire.Update, len(snaps))
	var buf []byte
	size := 0
	for i, s := range snaps {
		updates[i] = snapshotUpdate(b, s)
		buf = encode(buf[:0], updates[i])
		size += len(buf)
	}
	b.SetBytes(int64(size / len(updates))) // mean message size
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = encode(buf[:0], updates[i%len(updates)])
	}
}

func BenchmarkAppendFull(b *testing.B)        { benchmarkAppend(b, wire.AppendFull) }
func BenchmarkAppendLite(b *testing.B)        { benchmarkAppend(b, wire.AppendLite) }
func BenchmarkAppendDomainsOnly(b *testing.B) { benchmarkAppend(b, wire.AppendDomainsOnly) }
