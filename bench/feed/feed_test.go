package feed

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFeedSpreadsEntriesAndServesAFixedAddress(t *testing.T) {
	f, err := Start(Config{Logs: 4, PrecertFraction: 0.5, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Append(10); err != nil {
		t.Fatal(err)
	}
	if err := f.Append(2); err != nil {
		t.Fatal(err)
	}
	for i, l := range f.logs {
		if l.Size() != 3 {
			t.Errorf("log %d holds %d entries, want 3 (remainders rotate)", i, l.Size())
		}
	}
	if f.Size() != 12 {
		t.Errorf("size %d, want 12", f.Size())
	}

	logs := f.CustomLogs()
	if len(logs) != 4 || logs[0].Kind != "rfc6962" || logs[1].Kind != "static-ct" || logs[0].Key == "" {
		t.Fatalf("custom logs %+v", logs)
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base := strings.TrimSuffix(f.LogListURL(), "/log_list.json")
	if base == f.srv.URL() {
		t.Fatal("fixed address not used in the URLs")
	}
	status, list := get(f.LogListURL())
	if status != 200 || !strings.Contains(list, base+"/logs/bench0/") || strings.Contains(list, f.srv.URL()) {
		t.Errorf("log list (%d) does not point at %s only:\n%.400s", status, base, list)
	}
	if status, body := get(logs[0].URL + "ct/v1/get-sth"); status != 200 || !strings.Contains(body, `"tree_size":3`) {
		t.Errorf("get-sth through the fixed address: %d %s", status, body)
	}
	if status, body := get(logs[1].URL + "checkpoint"); status != 200 || !strings.HasPrefix(body, strings.TrimPrefix(base, "http://")+"/logs/bench1\n3\n") {
		t.Errorf("checkpoint origin is not the fixed address: %d %q", status, body)
	}

	if err := f.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(logs[0].URL + "ct/v1/get-sth"); status != http.StatusServiceUnavailable {
		t.Errorf("down log answered %d", status)
	}
	if err := f.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(logs[0].URL + "ct/v1/get-sth"); status != 200 {
		t.Errorf("log back up answered %d", status)
	}
}

func TestFeedRetainsTheNewestEntries(t *testing.T) {
	f, err := Start(Config{Logs: 2, Retain: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Append(42); err != nil { // 21 a log: more than twice its 5
		t.Fatal(err)
	}
	for i, l := range f.logs {
		if _, ok := l.Entry(0); ok {
			t.Errorf("log %d still holds entry 0 of %d", i, l.Size())
		}
		if _, ok := l.Entry(l.Size() - 5); !ok {
			t.Errorf("log %d lost one of its 5 newest entries", i)
		}
	}
	resp, err := http.Get(f.CustomLogs()[0].URL + "ct/v1/get-entries?start=0&end=3")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "no longer retained") {
		t.Errorf("get-entries of a forgotten entry: %d %q", resp.StatusCode, body)
	}
}

func TestPerLogRetain(t *testing.T) {
	for _, tc := range []struct{ retain, logs, want int }{
		{0, 4, DefaultRetain / 4}, {0, 3, (DefaultRetain + 2) / 3}, {-1, 4, 0}, {10, 3, 4}, {10, 1, 10},
	} {
		if got := perLog(tc.retain, tc.logs); got != tc.want {
			t.Errorf("perLog(%d, %d) = %d, want %d", tc.retain, tc.logs, got, tc.want)
		}
	}
}

func TestFeedWithACadencePublishesEachLogAtItsOwnPhase(t *testing.T) {
	const period = 400 * time.Millisecond
	f, err := Start(Config{Logs: 2, Cadence: period})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Append(10); err != nil {
		t.Fatal(err)
	}
	if f.Size() == 10 {
		t.Fatal("appended entries were published at once, not at the logs' turns")
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Size() < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f.Size() != 10 {
		t.Fatalf("size %d after 5 s, want 10", f.Size())
	}
	// Each log publishes once per period, log 1 half a period after log 0.
	ts0, ts1 := f.logs[0].STH().Timestamp, f.logs[1].STH().Timestamp
	phase := (ts1 - ts0 + period.Milliseconds()) % period.Milliseconds()
	if d := phase - period.Milliseconds()/2; d < -50 || d > 50 {
		t.Errorf("log 1 published %d ms after log 0 (mod %v), want about %d", phase, period, period.Milliseconds()/2)
	}
	before := f.HeadRequests()
	if _, err := http.Get(f.logs[0].URL() + "ct/v1/get-sth"); err != nil {
		t.Fatal(err)
	}
	if got := f.HeadRequests(); got != before+1 {
		t.Errorf("head requests %d after one get-sth, want %d", got, before+1)
	}
}
