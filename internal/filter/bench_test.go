package filter

import (
	"testing"

	"github.com/certstream/certstream/internal/wire"
)

// BenchmarkMatch is the cost of one filter evaluation against a
// certificate with four names: the router's cost per certificate per
// distinct filter.
func BenchmarkMatch(b *testing.B) {
	u := cert(wire.X509Entry, "/C=US/CN=R11/O=Let's Encrypt", "Argon2026h1",
		"shop.example.net", "www.shop.example.net", "api.shop.example.net", "cdn.shop.example.net")
	for _, q := range []string{"domain=*.example.org,example.com", "domain_contains=paypal", "domain_regex=^login\\.[a-z]+\\.com$"} {
		b.Run(q, func(b *testing.B) {
			spec, err := parse(b, q, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			f := compile(spec)
			for b.Loop() {
				if f.Match(u) {
					b.Fatal("matched")
				}
			}
		})
	}
}
