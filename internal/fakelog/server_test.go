package fakelog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"

	"github.com/certstream/certstream/internal/fixtures"
)

// TestRunRate grows three logs at 600 entries/s for one second and checks
// the total loosely, and that every log grew.
func TestRunRate(t *testing.T) {
	s := newTestServer(t)
	logs := []*Log{
		addLog(t, s, LogConfig{Name: "a"}),
		addLog(t, s, LogConfig{Name: "b", Kind: StaticCT}),
		addLog(t, s, LogConfig{Name: "c", PrecertFraction: 1}),
	}
	if err := s.Run(context.Background(), 0); err == nil {
		t.Fatal("Run accepted rate 0")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Run(ctx, 600); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, l := range logs {
		if l.Size() == 0 {
			t.Errorf("log %s did not grow", l.Name())
		}
		total += l.Size()
	}
	if total < 300 || total > 1200 {
		t.Errorf("grew %d entries in 1 s at 600/s", total)
	}
}

// TestConcurrentServing grows logs with Run while clients fetch and verify
// heads and entries and the faults change; run it with -race.
func TestConcurrentServing(t *testing.T) {
	s := newTestServer(t)
	rfc := addLog(t, s, LogConfig{Name: "rfc", PrecertFraction: 0.5, Faults: Faults{PageSize: 50}})
	tiled := addLog(t, s, LogConfig{Name: "tiled", Kind: StaticCT, PrecertFraction: 0.5, Faults: Faults{GzipTiles: true}})
	appendN(t, rfc, 10)
	appendN(t, tiled, 10)

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Go(func() {
		if err := s.Run(ctx, 2000); err != nil {
			errs <- err
		}
	})
	wg.Go(func() { // flips faults on and off
		for ctx.Err() == nil {
			_ = tiled.UpdateFaults(func(f *Faults) { f.Cosignature = !f.Cosignature; f.GzipTiles = !f.GzipTiles })
			_ = rfc.UpdateFaults(func(f *Faults) { f.AlignPages = !f.AlignPages })
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Go(func() { // RFC 6962 follower
		var next uint64
		for ctx.Err() == nil {
			sth, err := fetchJSON[sthResponse](rfc.URL() + "ct/v1/get-sth")
			if err == nil {
				err = verifyTreeHead(rfc.PublicKey(), sth.TreeSize, sth.Timestamp, sth.SHA256RootHash, sth.TreeHeadSignature)
			}
			for err == nil && next < sth.TreeSize && ctx.Err() == nil {
				var page ct.GetEntriesResponse
				page, err = fetchJSON[ct.GetEntriesResponse](fmt.Sprintf("%sct/v1/get-entries?start=%d&end=%d", rfc.URL(), next, sth.TreeSize-1))
				for _, e := range page.Entries {
					if _, derr := ct.LogEntryFromLeaf(int64(next), &e); derr != nil && err == nil {
						err = fmt.Errorf("entry %d: %v", next, derr)
					}
					next++
				}
			}
			if err != nil {
				errs <- err
				return
			}
		}
		if next == 0 {
			errs <- fmt.Errorf("RFC 6962 follower read nothing")
		}
	})
	wg.Go(func() { // static-ct follower
		var seen uint64
		for ctx.Err() == nil {
			body, err := fetchBody(tiled.URL() + "checkpoint")
			if err != nil {
				errs <- err
				return
			}
			cp, err := verifyCheckpoint(string(body), tiled.Origin(), tiled.PublicKey(), tiled.PublicKeyDER())
			if err != nil {
				errs <- err
				return
			}
			if cp.size < seen {
				errs <- fmt.Errorf("checkpoint shrank from %d to %d", seen, cp.size)
				return
			}
			seen = cp.size
			last := (cp.size - 1) / 256
			full := fmt.Sprintf("tile/data/%03d", last)
			path := full
			if w := cp.size % 256; w != 0 {
				path += fmt.Sprintf(".p/%d", w)
			}
			status, tile, err := fetch(tiled.URL() + path)
			if err == nil && status == http.StatusNotFound && path != full {
				status, tile, err = fetch(tiled.URL() + full) // the tile filled up meanwhile
			}
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("%s: status %d", path, status)
			}
			if err == nil {
				var leaves []tileLeaf
				leaves, err = parseTileLeaves(tile)
				if n := uint64(len(leaves)); err == nil && (n < cp.size-last*256 || uint64(leaves[0].leafIndex) != last*256) {
					err = fmt.Errorf("%s: %d leaves from %d", path, n, leaves[0].leafIndex)
				}
			}
			if err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if rfc.Stats().TotalRequests() == 0 || tiled.Stats().Requests[EndpointDataTile] == 0 {
		t.Error("followers made no requests")
	}
}

// fetch GETs url with Go's default transparent decompression.
func fetch(url string) (int, []byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return 0, nil, fmt.Errorf("%s: %v", url, err)
	}
	return resp.StatusCode, buf.Bytes(), nil
}

// fetchBody GETs url and requires a 200.
func fetchBody(url string) ([]byte, error) {
	status, body, err := fetch(url)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s: status %d: %s", url, status, body)
	}
	return body, err
}

// fetchJSON GETs and decodes a JSON body.
func fetchJSON[T any](url string) (T, error) {
	var v T
	body, err := fetchBody(url)
	if err == nil {
		err = json.Unmarshal(body, &v)
	}
	return v, err
}

// listedLog is a client-side log list entry (RFC 6962 or tiled).
type listedLog struct {
	Description   string `json:"description"`
	LogID         []byte `json:"log_id"`
	Key           []byte `json:"key"`
	URL           string `json:"url"`
	SubmissionURL string `json:"submission_url"`
	MonitoringURL string `json:"monitoring_url"`
	MMD           int    `json:"mmd"`
	State         map[string]struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"state"`
}

// clientList is a client-side log list.
type clientList struct {
	Operators []struct {
		Name      string      `json:"name"`
		Logs      []listedLog `json:"logs"`
		TiledLogs []listedLog `json:"tiled_logs"`
	} `json:"operators"`
}

// TestLogList decodes the served list, checks every log's ID, key and URLs,
// and checks it uses only field names the real Google v3 list uses.
func TestLogList(t *testing.T) {
	s := newTestServer(t)
	rfc := addLog(t, s, LogConfig{Name: "argon", Operator: "Google"})
	tiled := addLog(t, s, LogConfig{Name: "sycamore", Kind: StaticCT, Operator: "Let's Encrypt"})
	other := addLog(t, s, LogConfig{Name: "oak", Operator: "Let's Encrypt"})
	nav, err := NavigliConfig(fixtures.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := s.ServeStaticDir(nav)
	if err != nil {
		t.Fatal(err)
	}
	body := getOK(t, s.LogListURL())
	var list clientList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	byID := map[[32]byte]listedLog{}
	tiledIDs := map[[32]byte]bool{}
	for _, op := range list.Operators {
		for _, l := range op.Logs {
			byID[[32]byte(l.LogID)] = l
		}
		for _, l := range op.TiledLogs {
			byID[[32]byte(l.LogID)] = l
			tiledIDs[[32]byte(l.LogID)] = true
		}
	}
	if len(list.Operators) != 3 || len(byID) != 4 {
		t.Fatalf("%d operators and %d logs, want 3 and 4", len(list.Operators), len(byID))
	}
	for _, l := range []*Log{rfc, other} {
		got := byID[l.LogID()]
		if got.URL != l.URL() || !bytes.Equal(got.Key, l.PublicKeyDER()) || tiledIDs[l.LogID()] || got.MMD != 86400 {
			t.Errorf("log %s: listed as %+v", l.Name(), got)
		}
		if _, ok := got.State["usable"]; !ok || len(got.State) != 1 {
			t.Errorf("log %s: state %v", l.Name(), got.State)
		}
	}
	if got := byID[tiled.LogID()]; got.MonitoringURL != tiled.URL() || got.SubmissionURL == "" || got.URL != "" || got.MMD != 60 || !tiledIDs[tiled.LogID()] {
		t.Errorf("tiled log listed as %+v", got)
	}
	if got := byID[dir.LogID()]; got.MonitoringURL != dir.URL() || !bytes.Equal(got.Key, dir.PublicKeyDER()) {
		t.Errorf("navigli listed as %+v", got)
	}

	real, err := os.ReadFile(fixtures.Path(t, "loglist", "google_v3_log_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	known := jsonKeys(t, real)
	for k := range jsonKeys(t, body) {
		if !known[k] {
			t.Errorf("field %s is not in the real log list", k)
		}
	}
}

// jsonKeys returns every object key path (like "operators.logs.state") of a JSON document.
func jsonKeys(t *testing.T, doc []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				keys[prefix+k] = true
				walk(prefix+k+".", sub)
			}
		case []any:
			for _, sub := range v {
				walk(prefix, sub)
			}
		}
	}
	walk("", v)
	return keys
}
