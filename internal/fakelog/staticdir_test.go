package fakelog

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/certstream/certstream/internal/fixtures"
)

// TestNavigli serves the real navigli2025h2 fixture, verifies both
// checkpoints with the test key, recomputes their roots from the real data
// tiles, and checks which tiles exist before and after Grow.
func TestNavigli(t *testing.T) {
	s := newTestServer(t)
	cfg, err := NavigliConfig(fixtures.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.ServeStaticDir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(d.PublicKeyDER())
	if err != nil {
		t.Fatal(err)
	}
	if d.Origin() != "navigli2025h2.resigned.test" {
		t.Fatalf("origin %q", d.Origin())
	}

	check := func(size int64, present, absent []string) {
		t.Helper()
		text := getOK(t, d.URL()+"checkpoint")
		want, err := os.ReadFile(filepath.Join(cfg.Dir, cfg.Checkpoints[map[int64]int{778: 0, 1024: 1}[size]]))
		if err != nil || !bytes.Equal(text, want) {
			t.Fatalf("checkpoint is not the %d file (%v)", size, err)
		}
		cp, err := verifyCheckpoint(string(text), d.Origin(), pub, d.PublicKeyDER())
		if err != nil {
			t.Fatal(err)
		}
		if int64(cp.size) != size || d.Size() != size {
			t.Fatalf("checkpoint size %d, Size %d, want %d", cp.size, d.Size(), size)
		}
		for _, p := range present {
			f := get(t, d.URL()+p)
			want, err := os.ReadFile(filepath.Join(cfg.Dir, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			if f.status != http.StatusOK || !bytes.Equal(f.body, want) {
				t.Errorf("size %d: %s: status %d, body differs from the file", size, p, f.status)
			}
		}
		for _, p := range absent {
			if f := get(t, d.URL()+p); f.status != http.StatusNotFound {
				t.Errorf("size %d: %s: status %d, want 404", size, p, f.status)
			}
		}
		var leaves [][]byte
		for i := int64(0); i*256 < size; i++ {
			path := fmt.Sprintf("tile/data/%03d", i)
			if w := size - i*256; w < 256 {
				path += fmt.Sprintf(".p/%d", w)
			}
			parsed, err := parseTileLeaves(getOK(t, d.URL()+path))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, l := range parsed {
				if l.leafIndex != int64(len(leaves)) || !l.precert {
					t.Fatalf("%s: leaf_index %d at %d, precert %v", path, l.leafIndex, len(leaves), l.precert)
				}
				leaves = append(leaves, l.merkleLeaf)
			}
		}
		if root := mth(leaves); !bytes.Equal(root[:], cp.root) {
			t.Fatalf("size %d: recomputed root %x, checkpoint %x", size, root, cp.root)
		}
	}
	check(778,
		[]string{"tile/data/003.p/10", "tile/0/003.p/10", "tile/1/000.p/3", "tile/names/003.p/10", "tile/data/000"},
		[]string{"tile/data/003", "tile/0/003", "tile/1/000.p/4", "tile/data/004.p/1", "issuer/" + fmt.Sprintf("%064x", 0)})
	if !d.Grow() {
		t.Fatal("Grow to 1024 refused")
	}
	check(1024,
		[]string{"tile/data/003", "tile/0/003", "tile/1/000.p/4", "tile/1/000.p/3", "tile/names/003"},
		[]string{"tile/data/003.p/10", "tile/0/003.p/10", "tile/1/000.p/5", "tile/0/004.p/1"})
	if d.Grow() {
		t.Fatal("Grow past the last checkpoint")
	}
	if err := d.SetFaults(Faults{GzipTiles: true}); err != nil {
		t.Fatal(err)
	}
	f := get(t, d.URL()+"tile/data/003")
	want, err := os.ReadFile(filepath.Join(cfg.Dir, "tile", "data", "003"))
	if err != nil {
		t.Fatal(err)
	}
	if f.header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, f.body), want) {
		t.Errorf("gzip fixture tile: encoding %q, body differs", f.header.Get("Content-Encoding"))
	}
	if n := d.Stats().Requests[EndpointDataTile]; n == 0 {
		t.Error("data tile requests not counted")
	}
}

// TestStaticDirErrors rejects broken fixtures.
func TestStaticDirErrors(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cp.ok", "o.test\n5\nEMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=\n\n— o.test AAAA\n")
	write("cp.small", "o.test\n4\nEMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=\n\n— o.test AAAA\n")
	write("cp.other", "p.test\n6\nEMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=\n\n— p.test AAAA\n")
	write("cp.bad", "o.test\nfive\nxx\n\n")
	for i, cfg := range []StaticDirConfig{
		{Name: "a", Dir: dir, Checkpoints: []string{"missing"}},
		{Name: "b", Dir: dir, Checkpoints: []string{"cp.bad"}},
		{Name: "c", Dir: dir, Checkpoints: []string{"cp.ok", "cp.small"}},
		{Name: "d", Dir: dir, Checkpoints: []string{"cp.ok", "cp.other"}},
		{Name: "e", Dir: dir, Checkpoints: []string{"cp.ok"}, PublicKeyPEM: []byte("not pem")},
		{Name: "f/g", Dir: dir, Checkpoints: []string{"cp.ok"}},
	} {
		if _, err := s.ServeStaticDir(cfg); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	d, err := s.ServeStaticDir(StaticDirConfig{Name: "nokey", Dir: dir, Checkpoints: []string{"cp.ok"}})
	if err != nil {
		t.Fatal(err)
	}
	if f := get(t, d.URL()+"tile/data/000.p/5"); f.status != http.StatusNotFound {
		t.Errorf("missing tile file: status %d", f.status)
	}
	if bytes.Contains(getOK(t, s.LogListURL()), []byte(d.URL())) {
		t.Error("a fixture without key is in the log list")
	}
}
