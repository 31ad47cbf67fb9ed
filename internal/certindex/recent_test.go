package certindex

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/certstream/certstream/internal/wire"
)

func update(i int) *wire.Update {
	der := []byte(fmt.Sprintf("cert %d", i))
	return &wire.Update{Entry: wire.Entry{Index: uint64(i),
		Leaf: &wire.Cert{DER: der, SHA1: sha1.Sum(der), SHA256: sha256.Sum256(der)}}}
}

// colons writes b as uppercase hex pairs joined by colons, like the wire's
// "fingerprint".
func colons(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func TestLookupEveryForm(t *testing.T) {
	x := New(10)
	ups := []*wire.Update{update(1), update(2), update(3)}
	x.Add(ups)
	u := ups[1]
	for _, form := range []string{
		hex.EncodeToString(u.Leaf.SHA256[:]),
		strings.ToUpper(hex.EncodeToString(u.Leaf.SHA256[:])),
		colons(u.Leaf.SHA256[:]),
		strings.ToLower(colons(u.Leaf.SHA256[:])),
		hex.EncodeToString(u.Leaf.SHA1[:]),
		colons(u.Leaf.SHA1[:]),
	} {
		got, err := x.Lookup(form)
		if err != nil || got != u {
			t.Errorf("Lookup(%q) = %v, %v; want update 2", form, got, err)
		}
	}
	if got := x.Latest(); got != ups[2] {
		t.Errorf("Latest = %v, want update 3", got)
	}
}

func TestLookupRejectsMalformed(t *testing.T) {
	x := New(4)
	for _, bad := range []string{
		"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 63), strings.Repeat("a", 65),
		":" + strings.Repeat("ab", 20), strings.Repeat("a:b", 20), "../../etc/passwd",
		strings.Repeat("ab:", 19) + "a:b", // colon between the digits of a pair
	} {
		if u, err := x.Lookup(bad); err == nil {
			t.Errorf("Lookup(%q) = %v, nil; want an error", bad, u)
		}
	}
	unknown := sha256.Sum256([]byte("never added"))
	if u, err := x.Lookup(hex.EncodeToString(unknown[:])); u != nil || err != nil {
		t.Errorf("unknown hash: got %v, %v; want nil, nil", u, err)
	}
}

func TestCapacityEvictsOldest(t *testing.T) {
	x := New(3)
	var all []*wire.Update
	for i := range 5 {
		all = append(all, update(i))
	}
	x.Add(all)
	if x.Len() != 3 {
		t.Fatalf("Len = %d, want 3", x.Len())
	}
	for i, u := range all {
		got, _ := x.Lookup(hex.EncodeToString(u.Leaf.SHA256[:]))
		if want := i >= 2; (got != nil) != want {
			t.Errorf("update %d remembered = %v, want %v", i, got != nil, want)
		}
	}
	if len(x.by256) != 3 || len(x.by1) != 3 {
		t.Errorf("maps hold %d and %d entries, want 3", len(x.by256), len(x.by1))
	}
}

func TestReaddedCertSurvivesEvictionOfItsOlderCopy(t *testing.T) {
	x := New(2)
	a, b := update(1), update(2)
	again := update(1) // the same certificate seen again, e.g. in another log
	x.Add([]*wire.Update{a, b, again})
	got, _ := x.Lookup(hex.EncodeToString(a.Leaf.SHA256[:]))
	if got != again {
		t.Fatalf("got %v, want the newer copy", got)
	}
}

func TestConcurrentAddAndLookup(t *testing.T) {
	x := New(64)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 1000 {
			x.Add([]*wire.Update{update(i)})
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 1000 {
			u := update(i)
			_, _ = x.Lookup(hex.EncodeToString(u.Leaf.SHA1[:]))
			_ = x.Latest()
		}
	}()
	wg.Wait()
	if x.Len() != 64 {
		t.Fatalf("Len = %d, want 64", x.Len())
	}
}

func TestNilLeafSkipped(t *testing.T) {
	x := New(2)
	x.Add([]*wire.Update{nil, {}})
	if x.Len() != 0 || x.Latest() != nil {
		t.Fatal("updates without a leaf were recorded")
	}
}

func BenchmarkAdd(b *testing.B) {
	x := New(8192)
	all := make([]*wire.Update, 4*8192)
	for i := range all {
		all[i] = update(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ { // runs of 64, evicting once the index is full
		start := (i * 64) % len(all)
		x.Add(all[start : start+64])
	}
}
