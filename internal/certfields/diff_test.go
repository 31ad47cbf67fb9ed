package certfields_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/fixtures"
)

// checkFastPath fails t when the fast path accepts der with a result other
// than the x509 parser's (or accepts what that parser rejects). It reports
// whether the fast path took der.
func checkFastPath(t testing.TB, what string, der []byte) (fast bool) {
	t.Helper()
	f, s, err := certfields.ParseBoth(der)
	switch {
	case f == nil:
		return false
	case err != nil:
		t.Errorf("%s: fast path accepted a certificate the x509 parser rejects: %v", what, err)
	case !reflect.DeepEqual(f, s):
		t.Errorf("%s: fast path result differs\nfast %+v\nslow %+v", what, f, s)
	}
	return true
}

// TestFastPathEquivalence runs every certificate available through both
// paths and checks that most take the fast path.
func TestFastPathEquivalence(t *testing.T) {
	type source struct {
		name    string
		ders    [][]byte
		minFast float64 // share of ders that must take the fast path
	}
	sources := []source{
		{"synthetic snapshots", snapshotDERs(t), 0.5},
		{"navigli precerts", navigliPrecerts(t), 0.99},
		{"RFC 6962 entries and chains", rfc6962Certs(t), 0.5},
		{"fakelog", fakelogCerts(t), 1},
	}
	for _, src := range sources {
		fast := 0
		for i, der := range src.ders {
			if checkFastPath(t, src.name+" #"+itoa(i), der) {
				fast++
			}
		}
		t.Logf("%s: %d of %d took the fast path", src.name, fast, len(src.ders))
		if len(src.ders) == 0 || float64(fast) < src.minFast*float64(len(src.ders)) {
			t.Errorf("%s: only %d of %d took the fast path, want at least %.0f%%", src.name, fast, len(src.ders), 100*src.minFast)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// navigliPrecerts are the 1024 pre-certificates of the navigli data tiles.
func navigliPrecerts(t testing.TB) [][]byte {
	var ders [][]byte
	for _, name := range []string{"000", "001", "002", "003"} {
		tile, err := os.ReadFile(filepath.Join(fixtures.Path(t, "static-ct", "navigli2025h2"), "tile", "data", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range readPrecertTileLeaves(t, tile) {
			ders = append(ders, l.preCert)
		}
	}
	return ders
}

// rfc6962Certs are the leaves and chain certificates of the 2013 entries.
func rfc6962Certs(t testing.TB) [][]byte {
	var ders [][]byte
	for _, e := range fourEntries(t) {
		ders = append(append(ders, e.leaf), e.chain...)
	}
	return ders
}

// fakelogCerts are leaves and precertificates issued by the fakelog CA, and
// the CA's chain.
func fakelogCerts(t testing.TB) [][]byte {
	srv, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	l, err := srv.AddLog(fakelog.LogConfig{Name: "diff", PrecertFraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	if err := l.Append(n); err != nil {
		t.Fatal(err)
	}
	ders := srv.CA().Chain()
	for i := range int64(n) {
		e, ok := l.Entry(i)
		if !ok {
			t.Fatalf("no entry %d", i)
		}
		if !e.Garbage {
			ders = append(ders, e.Certificate)
		}
	}
	return ders
}

// FuzzFastPathEquivalence checks that whatever the fast path accepts, the
// x509 parser accepts with the same result.
func FuzzFastPathEquivalence(f *testing.F) {
	for _, der := range snapshotDERs(f) {
		f.Add(der)
	}
	for _, der := range navigliPrecerts(f)[:16] {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		checkFastPath(t, "input", der)
	})
}
