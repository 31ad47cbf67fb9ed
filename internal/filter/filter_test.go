package filter

import (
	"net/url"
	"strings"
	"testing"

	"github.com/certstream/certstream/internal/wire"
)

func cert(typ wire.EntryType, issuer, log string, names ...string) *wire.Update {
	return &wire.Update{Entry: wire.Entry{Type: typ, Leaf: &wire.Cert{AllDomains: names, Issuer: wire.Name{Aggregated: issuer}}},
		Source: &wire.Source{Name: log, URL: "https://ct.example/" + strings.ToLower(log) + "/"}}
}

func parse(t testing.TB, query string, lim Limits) (Spec, error) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(func(name string) []string { return q[name] }, lim)
}

func TestMatch(t *testing.T) {
	le := "/C=US/CN=R11/O=Let's Encrypt"
	www := cert(wire.X509Entry, le, "Argon2026h1", "example.com", "www.Example.COM")
	deep := cert(wire.PrecertEntry, "/CN=Sectigo RSA", "Nimbus", "a.b.example.org")
	bare := cert(wire.X509Entry, le, "Nimbus", "example.org")
	paypal := cert(wire.PrecertEntry, "/CN=ZeroSSL", "Xenon", "paypal-login.evil.net", "evil.net")
	noLeaf := &wire.Update{}
	all := []*wire.Update{www, deep, bare, paypal, noLeaf}
	for _, tc := range []struct {
		query string
		want  []*wire.Update
	}{
		{"", all},
		{"token=x&stream=full", all}, // other parameters are not filters
		{"domain=example.com", []*wire.Update{www}},
		{"domain=EXAMPLE.com", []*wire.Update{www}},                             // case
		{"domain=www.example.com", []*wire.Update{www}},                         // a name in mixed case
		{"domain=*.example.org", []*wire.Update{deep}},                          // a wildcard is not the bare name
		{"domain=*.EXAMPLE.org,example.org", []*wire.Update{deep, bare}},        // OR inside a list
		{"domain=*.example.org&domain=example.org", []*wire.Update{deep, bare}}, // repeated = listed
		{"domain=*.org", []*wire.Update{deep, bare}},
		{"domain=xample.com", nil},
		{"domain_contains=PAYPAL,nothing", []*wire.Update{paypal}},
		{"domain_contains=example", []*wire.Update{www, deep, bare}},
		{"domain_regex=^a\\.b\\.", []*wire.Update{deep}},
		{"domain_regex=(?i)^WWW\\.", []*wire.Update{www}},
		{"domain_regex=^WWW\\.", nil}, // regexes keep their case
		{"issuer=let's encrypt", []*wire.Update{www, bare}},
		{"log=nimbus", []*wire.Update{deep, bare}},
		{"log=ct.example/xenon", []*wire.Update{paypal}}, // the URL
		{"type=precert", []*wire.Update{deep, paypal}},
		{"type=x509,precert", []*wire.Update{www, deep, bare, paypal, noLeaf}},
		{"type=X509", []*wire.Update{www, bare, noLeaf}},
		{"domain_contains=example&log=nimbus", []*wire.Update{deep, bare}}, // AND across parameters
		{"domain_contains=example&log=nimbus&type=x509", []*wire.Update{bare}},
		{"domain=example.com&issuer=sectigo", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			spec, err := parse(t, tc.query, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			f := compile(spec)
			if spec.Empty() {
				f = nil
			}
			var got []*wire.Update
			for _, u := range all {
				if f.Match(u) {
					got = append(got, u)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("matched %d, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("match %d: %v, want %v", i, got[i].Leaf, tc.want[i].Leaf)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	lim := Limits{MaxValues: 3, MaxRegexLen: 10}
	for _, tc := range []struct{ query, reason string }{
		{"domain=", "domain: empty value"},
		{"domain=a.com,,b.com", "domain: empty value"},
		{"domain=a*.com", "wildcard"},
		{"domain=*.", "wildcard"},
		{"domain=*.*.com", "wildcard"},
		{"domain_regex=(", "domain_regex \"(\": missing closing )"},
		{"domain_regex=aaaaaaaaaaa", "longer than 10 bytes"},
		{"type=cert", "type \"cert\": want x509 or precert"},
		{"domain=a,b&log=c,d", "more than 3 filter values"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, err := parse(t, tc.query, lim)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("error %v, want one with %q", err, tc.reason)
			}
		})
	}
}

func TestCanonicalString(t *testing.T) {
	a, _ := parse(t, "type=precert&domain=B.com,a.com&domain=a.com", Limits{})
	b, _ := parse(t, "domain=a.com,b.com&type=precert", Limits{})
	if a.String() != b.String() || a.String() != "domain=a.com,b.com&type=precert" {
		t.Fatalf("%q and %q", a, b)
	}
}

func TestSetSharesAndBoundsRegexes(t *testing.T) {
	s := NewSet(Limits{MaxRegexes: 2})
	spec := func(q string) Spec {
		sp, err := parse(t, q, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	f1, _ := s.Acquire(spec("domain=a.com,b.com"))
	f2, _ := s.Acquire(spec("domain=b.com&domain=A.com"))
	if f1 == nil || f1 != f2 || s.Len() != 1 {
		t.Fatalf("equal filters not shared: %p %p, %d", f1, f2, s.Len())
	}
	if f, err := s.Acquire(Spec{}); f != nil || err != nil {
		t.Fatalf("empty spec: %v %v", f, err)
	}
	r1, err1 := s.Acquire(spec("domain_regex=^a,^b"))
	r2, err2 := s.Acquire(spec("domain_regex=^a&type=x509")) // ^a is already held
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := s.Acquire(spec("domain_regex=^c")); err == nil || !strings.Contains(err.Error(), "limit 2") {
		t.Fatalf("third regex: %v", err)
	}
	s.Release(r1)
	if _, err := s.Acquire(spec("domain_regex=^c")); err != nil { // ^b is gone, ^a still held by r2
		t.Fatal(err)
	}
	if _, err := s.Acquire(spec("domain_regex=^d")); err == nil {
		t.Fatal("over the limit again, accepted")
	}
	s.Release(r2)
	s.Release(f1)
	if s.Len() != 2 { // f2 and ^c
		t.Fatalf("%d filters held", s.Len())
	}
}
