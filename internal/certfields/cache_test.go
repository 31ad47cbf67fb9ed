package certfields_test

import (
	"math/big"
	"sync"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
)

// distinctCerts returns n different certificates.
func distinctCerts(t testing.TB, n int) [][]byte {
	t.Helper()
	ders := make([][]byte, n)
	for i := range ders {
		tmpl := template()
		tmpl.SerialNumber = big.NewInt(int64(i + 1))
		ders[i] = selfSigned(t, tmpl)
	}
	return ders
}

func TestCacheSharesAndEvictsOldest(t *testing.T) {
	ders := distinctCerts(t, 3)
	cache := certfields.NewCache(2)
	parseAll := func(ders ...[]byte) []any {
		var out []any
		for _, der := range ders {
			c, err := cache.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	first := parseAll(ders[0], ders[1])
	if again := parseAll(ders[0], ders[1]); again[0] != first[0] || again[1] != first[1] {
		t.Fatal("a cache hit did not return the shared Cert")
	}
	parseAll(ders[2]) // evicts ders[0], the oldest insertion (FIFO, hits don't refresh)
	if again := parseAll(ders[1]); again[0] != first[1] {
		t.Error("ders[1] was evicted before the older ders[0]")
	}
	if again := parseAll(ders[0]); again[0] == first[0] {
		t.Error("ders[0] still cached after a third insertion into a 2-entry cache")
	}
	if c, err := cache.Parse([]byte{0x30, 0x00}); err == nil || c != nil {
		t.Errorf("garbage through the cache: %v, %v; want an error", c, err)
	}
}

func TestCacheMinimumCapacity(t *testing.T) {
	ders := distinctCerts(t, 2)
	cache := certfields.NewCache(0)
	a, _ := cache.Parse(ders[0])
	if b, _ := cache.Parse(ders[0]); a == nil || b != a {
		t.Error("a zero-capacity cache does not hold one certificate")
	}
	cache.Parse(ders[1])
	if b, _ := cache.Parse(ders[0]); b == a {
		t.Error("a one-entry cache kept two certificates")
	}
}

func TestCacheConcurrent(t *testing.T) {
	ders := distinctCerts(t, 6)
	cache := certfields.NewCache(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				der := ders[(g+i)%len(ders)]
				c, err := cache.Parse(der)
				if err != nil {
					t.Error(err)
					return
				}
				if string(c.DER) != string(der) {
					t.Error("cache returned the wrong certificate")
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCacheParseHit(b *testing.B) {
	der := snapshotDERs(b)[4]
	cache := certfields.NewCache(16)
	if _, err := cache.Parse(der); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(der)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cache.Parse(der); err != nil {
			b.Fatal(err)
		}
	}
}
