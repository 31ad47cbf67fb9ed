package fakelog

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	ct "github.com/google/certificate-transparency-go"
	"golang.org/x/mod/sumdb/tlog"
)

// retainTest sizes the Retain tests: Retain is not a multiple of the tile
// width, so the oldest kept entry falls inside a data tile.
const (
	testRetain = 300
	testBatch  = 130 // < testRetain: each batch is seen whole before it can be forgotten
	testSize   = 12 * testBatch
)

// dataTilePath is the static-ct path of data tile n, w entries wide.
func dataTilePath(n int64, w int) string {
	return strings.Replace(tlog.Tile{H: tileHeight, L: -1, N: n, W: w}.Path(), "tile/8/", "tile/", 1)
}

// checkRetained checks the kept entries: about the last Retain, at most
// 2×Retain, ending at the tree size, and that the oldest kept one is served
// while the one below it is not.
func checkRetained(t *testing.T, l *Log, retain int) snapshot {
	t.Helper()
	s := l.snapshot()
	n := int64(len(s.entries))
	if s.size() != s.head.Size || n < min(s.head.Size, int64(retain)) || n > int64(2*retain) {
		t.Fatalf("size %d: %d entries kept from %d, want between %d and %d ending at the size",
			s.head.Size, n, s.floor, min(s.head.Size, int64(retain)), 2*retain)
	}
	if _, ok := l.Entry(s.floor); !ok && n > 0 {
		t.Fatalf("oldest kept entry %d not served", s.floor)
	}
	if s.floor > 0 {
		if _, ok := l.Entry(s.floor - 1); ok {
			t.Fatalf("forgotten entry %d still served", s.floor-1)
		}
		if li, ed := l.RawEntry(s.floor - 1); li != nil || ed != nil || l.TileLeaf(s.floor-1) != nil {
			t.Fatalf("forgotten entry %d: RawEntry or TileLeaf returned data", s.floor-1)
		}
	}
	return s
}

// checkSTH verifies get-sth and recomputes its root from all the leaves,
// forgotten ones included.
func checkSTH(t *testing.T, l *Log, leaves [][]byte) {
	t.Helper()
	sth := getSTH(t, l)
	if sth.TreeSize != uint64(len(leaves)) {
		t.Fatalf("tree_size %d, want %d", sth.TreeSize, len(leaves))
	}
	if err := verifyTreeHead(l.PublicKey(), sth.TreeSize, sth.Timestamp, sth.SHA256RootHash, sth.TreeHeadSignature); err != nil {
		t.Fatal(err)
	}
	if root := mth(leaves); !bytes.Equal(root[:], sth.SHA256RootHash) {
		t.Fatalf("root %x, recomputed %x", sth.SHA256RootHash, root)
	}
}

// TestRetainRFC6962 grows a log well past 2×Retain, reading each batch
// through get-entries as it is published, and checks the bodies kept stay
// bounded, the newest are served as before, older ones answer 400, and the
// tree head still covers every leaf.
func TestRetainRFC6962(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "retain", PrecertFraction: 0.5, Retain: testRetain})
	var served []ct.LeafEntry // every entry as get-entries served it when new
	var leaves [][]byte
	for l.Size() < testSize {
		appendN(t, l, testBatch)
		for next := int64(len(served)); next < l.Size(); next = int64(len(served)) {
			served = append(served, getEntries(t, l, next, l.Size()-1)...)
		}
		for _, e := range served[len(leaves):] {
			leaves = append(leaves, e.LeafInput)
		}
		checkRetained(t, l, testRetain)
	}
	snap := checkRetained(t, l, testRetain)
	if snap.floor == 0 {
		t.Fatal("nothing forgotten")
	}
	checkSTH(t, l, leaves)

	var again []ct.LeafEntry
	for next := snap.floor; next < snap.size(); next = snap.floor + int64(len(again)) {
		again = append(again, getEntries(t, l, next, snap.size()-1)...)
	}
	for k, e := range again {
		i := snap.floor + int64(k)
		if !bytes.Equal(e.LeafInput, served[i].LeafInput) || !bytes.Equal(e.ExtraData, served[i].ExtraData) {
			t.Fatalf("entry %d: served differently after older entries were forgotten", i)
		}
		if _, err := ct.LogEntryFromLeaf(i, &e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if int64(len(again)) != snap.size()-snap.floor {
		t.Fatalf("read %d kept entries, want %d", len(again), snap.size()-snap.floor)
	}

	want := fmt.Sprintf("entries below %d are no longer retained by this fake log", snap.floor)
	for _, start := range []int64{0, snap.floor - 1} {
		f := get(t, fmt.Sprintf("%sct/v1/get-entries?start=%d&end=%d", l.URL(), start, snap.floor+5))
		if f.status != http.StatusBadRequest || !strings.Contains(string(f.body), want) {
			t.Errorf("get-entries from %d below the floor %d: %d %q, want 400 %q", start, snap.floor, f.status, f.body, want)
		}
	}
}

// TestRetainStaticCT grows a static-ct log well past 2×Retain, fetching
// each data tile as it fills, and checks that the kept tiles are served as
// before, tiles needing a forgotten entry answer 404, and hash tiles and the
// checkpoint still cover every leaf.
func TestRetainStaticCT(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "retain", Kind: StaticCT, PrecertFraction: 0.5, Retain: testRetain})
	tiles := map[int64][]byte{} // full data tiles as served when they filled
	var leaves [][]byte
	for l.Size() < testSize {
		appendN(t, l, testBatch)
		for i := int64(len(leaves)); i < l.Size(); i++ {
			li, _ := l.RawEntry(i)
			if li == nil {
				t.Fatalf("entry %d of the last batch already forgotten", i)
			}
			leaves = append(leaves, li)
		}
		for n := int64(len(tiles)); (n+1)*tileWidth <= l.Size(); n++ {
			tiles[n] = getOK(t, l.URL()+dataTilePath(n, tileWidth))
		}
		checkRetained(t, l, testRetain)
	}
	snap := checkRetained(t, l, testRetain)
	if snap.floor%tileWidth == 0 {
		t.Fatalf("floor %d on a tile boundary: the test does not reach a tile straddling it", snap.floor)
	}
	cp, err := verifyCheckpoint(string(getOK(t, l.URL()+"checkpoint")), l.Origin(), l.PublicKey(), l.PublicKeyDER())
	if err != nil {
		t.Fatal(err)
	}
	if root := mth(leaves); cp.size != uint64(len(leaves)) || !bytes.Equal(cp.root, root[:]) {
		t.Fatalf("checkpoint size %d root %x, want %d %x", cp.size, cp.root, len(leaves), root)
	}

	want := fmt.Sprintf("entries below %d are no longer retained by this fake log", snap.floor)
	kept := 0
	for n, before := range tiles {
		f := get(t, l.URL()+dataTilePath(n, tileWidth))
		switch {
		case n*tileWidth >= snap.floor:
			kept++
			if f.status != http.StatusOK || !bytes.Equal(f.body, before) {
				t.Errorf("kept data tile %d: status %d, body differs from when it filled: %v", n, f.status, !bytes.Equal(f.body, before))
			}
		case f.status != http.StatusNotFound || !strings.Contains(string(f.body), want):
			t.Errorf("data tile %d below the floor %d: %d %q, want 404 %q", n, snap.floor, f.status, f.body, want)
		}
	}
	if kept == 0 {
		t.Fatal("no full data tile kept to compare")
	}
	last, w := snap.size()/tileWidth, int(snap.size()%tileWidth)
	partial := getOK(t, l.URL()+dataTilePath(last, w))
	var concat []byte
	for i := last * tileWidth; i < snap.size(); i++ {
		concat = append(concat, l.TileLeaf(i)...)
	}
	if !bytes.Equal(partial, concat) {
		t.Error("partial data tile differs from its TileLeaf values")
	}

	// Hash tiles still cover the forgotten leaves: level 0 tile 0 holds the
	// hashes of leaves 0..255, level 1 the roots of each full tile.
	h0 := getOK(t, l.URL()+"tile/0/000")
	for i := range tileWidth {
		if want := mth(leaves[i : i+1]); !bytes.Equal(h0[32*i:32*i+32], want[:]) {
			t.Fatalf("hash tile 0/000 entry %d differs", i)
		}
	}
	full := len(leaves) / tileWidth
	h1 := getOK(t, l.URL()+fmt.Sprintf("tile/1/000.p/%d", full))
	for i := range full {
		if want := mth(leaves[tileWidth*i : tileWidth*(i+1)]); !bytes.Equal(h1[32*i:32*i+32], want[:]) {
			t.Fatalf("hash tile 1/000.p/%d entry %d differs", full, i)
		}
	}
}

// TestRetainLargeAppend appends more than 2×Retain at once, and then again,
// checks exactly the last Retain are kept, and proves a kept entry is in
// the signed tree from hashes the log still holds.
func TestRetainLargeAppend(t *testing.T) {
	s := newTestServer(t)
	const retain = 40
	l := addLog(t, s, LogConfig{Name: "large", Kind: StaticCT, Retain: retain})
	for _, n := range []int{2*retain + 1, 3 * retain, 1, 2 * retain} {
		appendN(t, l, n)
		snap := checkRetained(t, l, retain)
		if n > 2*retain && (len(snap.entries) != retain || snap.floor != snap.size()-retain) {
			t.Fatalf("after Append(%d): %d kept from %d, want the last %d", n, len(snap.entries), snap.floor, retain)
		}
	}
	snap := checkRetained(t, l, retain)
	sth := l.STH()
	if err := verifyTreeHead(l.PublicKey(), uint64(sth.Size), uint64(sth.Timestamp), sth.RootHash[:], sth.Signature); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int64{snap.floor, sth.Size - 1} {
		li, _ := l.RawEntry(i)
		proof, err := tlog.ProveRecord(sth.Size, i, snap.hashes)
		if err != nil {
			t.Fatal(err)
		}
		leafHash := tlog.Hash(sha256.Sum256(append([]byte{0}, li...)))
		if err := tlog.CheckRecord(proof, sth.Size, sth.RootHash, i, leafHash); err != nil {
			t.Errorf("entry %d is not in the signed tree: %v", i, err)
		}
		leafHash[0] ^= 1
		if tlog.CheckRecord(proof, sth.Size, sth.RootHash, i, leafHash) == nil {
			t.Fatalf("entry %d: a wrong leaf hash proved", i)
		}
	}
}

// TestRetainConcurrentReaders reads the oldest and newest kept entries
// while appends forget older ones; run it with -race.
func TestRetainConcurrentReaders(t *testing.T) {
	s := newTestServer(t)
	l := addLog(t, s, LogConfig{Name: "race", Kind: StaticCT, Retain: 20})
	appendN(t, l, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				snap := l.snapshot()
				for _, i := range []int64{snap.floor, snap.size() - 1} {
					e := snap.entry(i)
					if e == nil || len(appendTileLeaf(nil, e, i, l.ca)) == 0 {
						errs <- fmt.Errorf("entry %d of a snapshot kept from %d to %d not readable", i, snap.floor, snap.size())
						return
					}
				}
			}
		})
	}
	for range 30 {
		appendN(t, l, 7)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkRetained(t, l, 20)
}

// TestRetainValidation rejects a negative Retain.
func TestRetainValidation(t *testing.T) {
	s := newTestServer(t)
	if _, err := s.AddLog(LogConfig{Name: "neg", Retain: -1}); err == nil || !strings.Contains(err.Error(), "Retain") {
		t.Errorf("negative Retain: %v", err)
	}
}
