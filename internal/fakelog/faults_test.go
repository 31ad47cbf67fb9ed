package fakelog

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestFaultKnobs turns on each knob and checks the responses and counters.
func TestFaultKnobs(t *testing.T) {
	s := newTestServer(t)
	rfc := addLog(t, s, LogConfig{Name: "rfc"})
	tiled := addLog(t, s, LogConfig{Name: "tiled", Kind: StaticCT})
	appendN(t, rfc, 10)
	appendN(t, tiled, 300)
	sthURL := rfc.URL() + "ct/v1/get-sth"

	statuses := func(url string, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = get(t, url).status
		}
		return out
	}
	set := func(l *Log, f Faults) {
		t.Helper()
		if err := l.SetFaults(f); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("rate limit with Retry-After", func(t *testing.T) {
		set(rfc, Faults{RateLimitEvery: 2, RetryAfter: 3})
		before := rfc.Stats().Faults[FaultRateLimit]
		var limited int
		for range 4 {
			f := get(t, sthURL)
			if f.status == http.StatusTooManyRequests {
				limited++
				if got := f.header.Get("Retry-After"); got != "3" {
					t.Errorf("Retry-After %q, want 3", got)
				}
			}
		}
		if limited != 2 || rfc.Stats().Faults[FaultRateLimit]-before != 2 {
			t.Errorf("%d of 4 requests limited, counter +%d", limited, rfc.Stats().Faults[FaultRateLimit]-before)
		}
	})
	t.Run("rate limit without Retry-After", func(t *testing.T) {
		set(rfc, Faults{RateLimitEvery: 1, OmitRetryAfter: true})
		f := get(t, sthURL)
		if f.status != http.StatusTooManyRequests || f.header.Get("Retry-After") != "" {
			t.Errorf("status %d, Retry-After %q", f.status, f.header.Get("Retry-After"))
		}
	})
	t.Run("server error", func(t *testing.T) {
		set(rfc, Faults{ServerErrorEvery: 3})
		got := statuses(sthURL, 6)
		n := 0
		for _, st := range got {
			if st == http.StatusInternalServerError {
				n++
			}
		}
		if n != 2 {
			t.Errorf("statuses %v: want 2 server errors", got)
		}
	})
	t.Run("down", func(t *testing.T) {
		set(tiled, Faults{Down: true})
		for _, p := range []string{"checkpoint", "tile/data/000", "nonsense"} {
			if f := get(t, tiled.URL()+p); f.status != http.StatusServiceUnavailable {
				t.Errorf("%s: status %d, want 503", p, f.status)
			}
		}
		set(tiled, Faults{})
		if f := get(t, tiled.URL()+"checkpoint"); f.status != http.StatusOK {
			t.Errorf("after Down off: status %d", f.status)
		}
	})
	t.Run("delay", func(t *testing.T) {
		set(rfc, Faults{Delay: 60 * time.Millisecond})
		start := time.Now()
		if f := get(t, sthURL); f.status != http.StatusOK {
			t.Fatalf("status %d", f.status)
		}
		if el := time.Since(start); el < 60*time.Millisecond {
			t.Errorf("answered after %v, before the delay", el)
		}
		if rfc.Stats().Faults[FaultDelay] == 0 {
			t.Error("delay not counted")
		}
	})
	t.Run("truncate", func(t *testing.T) {
		set(rfc, Faults{TruncateEvery: 1})
		var v any
		if err := json.Unmarshal(get(t, sthURL).body, &v); err == nil {
			t.Error("truncated get-sth is valid JSON")
		}
		if err := json.Unmarshal(get(t, rfc.URL()+"ct/v1/get-entries?start=0&end=9").body, &v); err == nil {
			t.Error("truncated get-entries is valid JSON")
		}
		set(tiled, Faults{TruncateEvery: 1, GzipTiles: true})
		f := get(t, tiled.URL()+"tile/data/000")
		full := 0
		for i := range int64(256) {
			full += len(tiled.TileLeaf(i))
		}
		if got := len(gunzip(t, f.body)); f.status != http.StatusOK || got != full/2 {
			t.Errorf("truncated tile: status %d, %d bytes, want %d", f.status, got, full/2)
		}
		if _, err := parseTileLeaves(gunzip(t, f.body)); err == nil {
			t.Error("truncated tile parses")
		}
		if rfc.Stats().Faults[FaultTruncate] != 2 || tiled.Stats().Faults[FaultTruncate] != 1 {
			t.Errorf("truncations counted: rfc %d, tiled %d", rfc.Stats().Faults[FaultTruncate], tiled.Stats().Faults[FaultTruncate])
		}
		if f := get(t, tiled.URL()+"tile/data/999"); f.status != http.StatusNotFound || tiled.Stats().Faults[FaultTruncate] != 1 {
			t.Errorf("404 truncated or counted: status %d", f.status)
		}
	})
	t.Run("tile 404", func(t *testing.T) {
		set(tiled, Faults{Tile404Every: 2})
		var got []int
		for range 2 {
			got = append(got, get(t, tiled.URL()+"checkpoint").status) // not a tile: never 404
			got = append(got, get(t, tiled.URL()+"tile/data/000").status)
			got = append(got, get(t, tiled.URL()+"tile/0/000").status)
		}
		want := []int{200, 200, 404, 200, 200, 404}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("statuses %v, want %v", got, want)
			}
		}
		if n := tiled.Stats().Faults[FaultTile404]; n != 2 {
			t.Errorf("tile-404 counted %d times", n)
		}
	})
	t.Run("hold", func(t *testing.T) {
		set(rfc, Faults{HoldFrom: 5})
		set(tiled, Faults{HoldFrom: 290})
		if f := get(t, rfc.URL()+"ct/v1/get-entries?start=0&end=4"); f.status != http.StatusOK {
			t.Fatalf("entries below the hold: status %d", f.status)
		}
		if f := get(t, tiled.URL()+"tile/data/000"); f.status != http.StatusOK {
			t.Fatalf("tile below the hold: status %d", f.status)
		}
		held := make(chan fetched, 2)
		go func() { held <- get(t, rfc.URL()+"ct/v1/get-entries?start=3&end=9") }()
		go func() { held <- get(t, tiled.URL()+"tile/data/001.p/44") }()
		select {
		case f := <-held:
			t.Fatalf("a held request was answered (status %d)", f.status)
		case <-time.After(200 * time.Millisecond):
		}
		set(rfc, Faults{})
		set(tiled, Faults{})
		for range 2 {
			select {
			case f := <-held:
				if f.status != http.StatusOK {
					t.Errorf("released request: status %d", f.status)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a held request was not released when the hold was lifted")
			}
		}
		if rfc.Stats().Faults[FaultHold] != 1 || tiled.Stats().Faults[FaultHold] != 1 {
			t.Errorf("holds counted: rfc %d, tiled %d", rfc.Stats().Faults[FaultHold], tiled.Stats().Faults[FaultHold])
		}
	})
	t.Run("shrink", func(t *testing.T) {
		set(rfc, Faults{ShrinkBy: 4})
		var leaves [][]byte
		for i := range int64(6) {
			li, _ := rfc.RawEntry(i)
			leaves = append(leaves, li)
		}
		sth := getSTH(t, rfc)
		if sth.TreeSize != 6 {
			t.Fatalf("tree_size %d, want 10-4", sth.TreeSize)
		}
		if err := verifyTreeHead(rfc.PublicKey(), sth.TreeSize, sth.Timestamp, sth.SHA256RootHash, sth.TreeHeadSignature); err != nil {
			t.Fatal(err)
		}
		if root := mth(leaves); !bytes.Equal(root[:], sth.SHA256RootHash) {
			t.Fatalf("root %x of the shrunk tree, recomputed %x", sth.SHA256RootHash, root)
		}
		set(tiled, Faults{ShrinkBy: 500, Cosignature: true})
		cp, err := verifyCheckpoint(string(getOK(t, tiled.URL()+"checkpoint")), tiled.Origin(), tiled.PublicKey(), tiled.PublicKeyDER())
		if err != nil || cp.size != 0 {
			t.Fatalf("checkpoint of size %d (%v), want 0", cp.size, err)
		}
		set(tiled, Faults{})
	})
	t.Run("redirect", func(t *testing.T) {
		set(rfc, Faults{RedirectTo: "http://127.0.0.1:9/elsewhere"})
		resp, err := noRedirects.Get(sthURL + "?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "http://127.0.0.1:9/elsewhere/logs/rfc/ct/v1/get-sth?x=1"
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("status %d, Location %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if n := rfc.Stats().Faults[FaultRedirect]; n != 1 {
			t.Errorf("redirect counted %d times", n)
		}
	})
	t.Run("reject", func(t *testing.T) {
		set(rfc, Faults{Reject: http.StatusForbidden, RejectBody: "go away"})
		if f := get(t, sthURL); f.status != http.StatusForbidden || string(f.body) != "go away" {
			t.Errorf("status %d, body %q", f.status, f.body)
		}
		if err := rfc.SetFaults(Faults{Reject: 200}); err == nil {
			t.Error("Reject 200 accepted")
		}
	})
	t.Run("pad body", func(t *testing.T) {
		set(rfc, Faults{PadBody: 1000})
		f := get(t, rfc.URL()+"ct/v1/get-entries?start=0&end=0")
		var v struct{ Entries []json.RawMessage }
		if err := json.Unmarshal(f.body, &v); err != nil || len(v.Entries) != 1 {
			t.Fatalf("padded body: %d entries, %v", len(v.Entries), err)
		}
		if !bytes.HasSuffix(f.body, bytes.Repeat([]byte{' '}, 1000)) {
			t.Error("body not padded")
		}
		if f := get(t, rfc.URL()+"ct/v1/get-entries?start=99&end=99"); bytes.HasSuffix(f.body, []byte("  ")) {
			t.Errorf("error answer (status %d) padded", f.status)
		}
		if bytes.HasSuffix(getOK(t, sthURL), []byte("  ")) {
			t.Error("get-sth padded")
		}
	})
	t.Run("counters", func(t *testing.T) {
		set(rfc, Faults{})
		before := rfc.Stats()
		get(t, sthURL)
		get(t, rfc.URL()+"ct/v1/get-entries?start=0&end=0")
		get(t, rfc.URL()+"elsewhere")
		after := rfc.Stats()
		for _, ep := range []Endpoint{EndpointGetSTH, EndpointGetEntries, EndpointOther} {
			if after.Requests[ep]-before.Requests[ep] != 1 {
				t.Errorf("%s counted %d times", ep, after.Requests[ep]-before.Requests[ep])
			}
		}
		if after.TotalRequests()-before.TotalRequests() != 3 {
			t.Errorf("total +%d, want 3", after.TotalRequests()-before.TotalRequests())
		}
	})
}

// noRedirects shows redirects to the test instead of following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// TestSpread checks Run's division of entries over logs.
func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		total    int64
		n, first int
		want     []int64
	}{
		{10, 3, 0, []int64{4, 3, 3}},
		{10, 3, 2, []int64{3, 3, 4}},
		{11, 3, 2, []int64{4, 3, 4}},
		{1, 4, 3, []int64{0, 0, 0, 1}},
		{0, 2, 0, []int64{0, 0}},
	} {
		got := spread(tc.total, tc.n, tc.first)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("spread(%d, %d, %d) = %v, want %v", tc.total, tc.n, tc.first, got, tc.want)
				break
			}
		}
	}
}
