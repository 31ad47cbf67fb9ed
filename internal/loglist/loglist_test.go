package loglist

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fixtures"
)

// expectedLog is what the test derives from the raw JSON on its own.
type expectedLog struct {
	id, operator, kind, url, submission, state string
}

// walkList recomputes, with a generic JSON walk, every log of a v3 list and
// the counts per list field and state.
func walkList(t *testing.T, data []byte) (all []expectedLog, counts map[string]int, operators int) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	counts = make(map[string]int)
	for _, op := range doc["operators"].([]any) {
		operators++
		o := op.(map[string]any)
		for _, field := range []string{"logs", "tiled_logs"} {
			logs, _ := o[field].([]any)
			for _, lg := range logs {
				m := lg.(map[string]any)
				var state string
				for k := range m["state"].(map[string]any) {
					state = k
				}
				e := expectedLog{id: m["log_id"].(string), operator: o["name"].(string), state: state}
				if field == "logs" {
					e.kind, e.url, e.submission = "rfc6962", m["url"].(string), m["url"].(string)
				} else {
					e.kind, e.url, e.submission = "static-ct", m["monitoring_url"].(string), m["submission_url"].(string)
				}
				counts[field]++
				counts[field+"/"+state]++
				all = append(all, e)
			}
		}
	}
	return all, counts, operators
}

// followedFrom keeps usable, qualified and readonly logs, first log_id wins.
func followedFrom(all []expectedLog) []expectedLog {
	var out []expectedLog
	seen := map[string]bool{}
	for _, e := range all {
		if (e.state == "usable" || e.state == "qualified" || e.state == "readonly") && !seen[e.id] {
			seen[e.id] = true
			out = append(out, e)
		}
	}
	return out
}

// checkFollowed compares Followed() with the independent computation.
func checkFollowed(t *testing.T, l *List, want []expectedLog) {
	t.Helper()
	got := l.Followed()
	if len(got) != len(want) {
		t.Fatalf("Followed() has %d logs, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.ID != w.id || g.Operator != w.operator || g.Kind != w.kind || g.URL != w.url || g.SubmissionURL != w.submission || g.State != w.state {
			t.Errorf("Followed()[%d] = %+v, want %+v", i, g, w)
		}
		if sum := sha256.Sum256(g.Key); base64.StdEncoding.EncodeToString(sum[:]) != g.ID {
			t.Errorf("Followed()[%d] key does not hash to its ID", i)
		}
	}
}

func TestEmbeddedList(t *testing.T) {
	shared, err := os.ReadFile(fixtures.Path(t, "loglist", "google_v3_log_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, embeddedJSON) {
		t.Fatal("the embedded list differs from the fixtures copy")
	}
	all, counts, operators := walkList(t, embeddedJSON)
	if counts["logs"] != 35 || counts["tiled_logs"] != 21 || operators != 8 {
		t.Fatalf("the raw list has %d logs, %d tiled logs, %d operators", counts["logs"], counts["tiled_logs"], operators)
	}
	l := Embedded()
	if l.Version != "85.92" || !l.Timestamp.Equal(time.Date(2026, 5, 29, 13, 42, 48, 0, time.UTC)) {
		t.Errorf("version %q, timestamp %v", l.Version, l.Timestamp)
	}
	if len(l.Logs) != len(all) {
		t.Fatalf("Parse found %d logs, want %d", len(l.Logs), len(all))
	}
	kinds := map[string]int{}
	for _, lg := range l.Logs {
		kinds[lg.Kind]++
		if lg.MMD <= 0 || lg.Description == "" {
			t.Errorf("log %s: MMD %d, description %q", lg.ID, lg.MMD, lg.Description)
		}
	}
	if kinds[KindRFC6962] != 35 || kinds[KindStaticCT] != 21 {
		t.Errorf("kinds %v", kinds)
	}
	want := followedFrom(all)
	if len(want) != len(all)-counts["logs/retired"]-counts["tiled_logs/retired"] || len(want) == 0 {
		t.Fatalf("the independent walk follows %d of %d logs", len(want), len(all))
	}
	checkFollowed(t, l, want)
}

func TestEmbeddedSignature(t *testing.T) {
	if err := Verify(embeddedJSON, embeddedSig, GooglePublicKey()); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(embeddedJSON, []byte(`"85.92"`), []byte(`"85.93"`), 1)
	if err := Verify(tampered, embeddedSig, GooglePublicKey()); err == nil {
		t.Error("a tampered list verifies")
	}
	if err := Verify(embeddedJSON, embeddedSig[1:], GooglePublicKey()); err == nil {
		t.Error("a truncated signature verifies")
	}
}

func TestVerifyECDSA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"version":"1"}`)
	digest := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(data, sig, &key.PublicKey); err != nil {
		t.Error(err)
	}
	if err := Verify(append(data, ' '), sig, &key.PublicKey); err == nil {
		t.Error("ECDSA signature verifies over other bytes")
	}
	if err := Verify(embeddedJSON, embeddedSig, &key.PublicKey); err == nil {
		t.Error("Google's signature verifies with an ECDSA key")
	}
	if err := Verify(data, sig, "not a key"); err == nil {
		t.Error("Verify accepted a string as key")
	}
}

// synthetic builds a small list exercising states, kinds and duplicates.
func synthetic(t *testing.T) []byte {
	t.Helper()
	key := func(n byte) (string, string) {
		k := []byte{0x30, n, 1, 2, 3}
		sum := sha256.Sum256(k)
		return base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])
	}
	entry := func(n byte, state, urls string) map[string]any {
		k, id := key(n)
		m := map[string]any{"description": "log " + string('A'+n), "log_id": id, "key": k, "mmd": 60,
			"state": map[string]any{state: map[string]any{"timestamp": "2026-01-01T00:00:00Z"}}}
		if err := json.Unmarshal([]byte(urls), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	rfc := `{"url":"https://rfc.example/x/"}`
	tiled := `{"submission_url":"https://sub.example/y/","monitoring_url":"https://mon.example/y/"}`
	doc := map[string]any{
		"version": "1.2", "log_list_timestamp": "2026-01-02T03:04:05Z",
		"operators": []any{
			map[string]any{"name": "Op1",
				"logs": []any{
					entry(1, "usable", rfc), entry(2, "retired", rfc), entry(3, "qualified", rfc),
					entry(4, "rejected", rfc), entry(5, "pending", rfc),
				},
				"tiled_logs": []any{entry(6, "readonly", tiled), entry(1, "usable", tiled)},
			},
			map[string]any{"name": "Op2", "logs": []any{entry(3, "usable", rfc)}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFollowedSynthetic(t *testing.T) {
	data := synthetic(t)
	l, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Logs) != 8 {
		t.Fatalf("%d logs, want 8", len(l.Logs))
	}
	all, _, _ := walkList(t, data)
	want := followedFrom(all)
	if len(want) != 3 {
		t.Fatalf("the independent walk follows %d logs, want 3", len(want))
	}
	checkFollowed(t, l, want)
	f := l.Followed()
	if f[0].Kind != KindRFC6962 || f[2].Kind != KindStaticCT || f[2].URL != "https://mon.example/y/" || f[2].SubmissionURL != "https://sub.example/y/" {
		t.Errorf("Followed() = %+v", f)
	}
}

func TestParseErrors(t *testing.T) {
	good := string(synthetic(t))
	for name, tc := range map[string]struct{ data, mention string }{
		"not JSON":      {"<html>", "loglist"},
		"no operators":  {`{"version":"1","operators":[]}`, "no operators"},
		"bad timestamp": {`{"log_list_timestamp":"yesterday","operators":[]}`, "loglist"},
		"bad log_id":    {strings.Replace(good, `"log_id":"`, `"log_id":"!`, 1), "log_id"},
		"wrong log_id":  {strings.Replace(good, `"key":"MAEBAgM="`, `"key":"MAkBAgM="`, 1), "SHA-256"},
		"no key":        {strings.Replace(good, `"key":"MAEBAgM=",`, ``, 1), "no key"},
		"two states":    {strings.Replace(good, `"state":{"usable":`, `"state":{"retired":{},"usable":`, 1), "state has 2"},
		"no url":        {strings.Replace(good, `"url":"https://rfc.example/x/"`, `"url":""`, 1), "no url"},
		"no monitoring": {strings.Replace(good, `"monitoring_url":"https://mon.example/y/"`, `"monitoring_url":""`, 1), "no monitoring_url"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.data == good {
				t.Fatal("the edit did not apply")
			}
			_, err := Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Parse: %v, want an error mentioning %q", err, tc.mention)
			}
		})
	}
}

// serveList starts a loopback server answering with handler.
func serveList(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetch(t *testing.T) {
	tampered := bytes.Replace(embeddedJSON, []byte("Argon2026h1"), []byte("Argon2026h9"), 1)
	for name, tc := range map[string]struct {
		list, sig []byte
		ok        bool
	}{
		"good":          {embeddedJSON, embeddedSig, true},
		"tampered list": {tampered, embeddedSig, false},
		"missing sig":   {embeddedJSON, nil, false},
		"empty sig":     {embeddedJSON, []byte{}, false},
		"missing list":  {nil, embeddedSig, false},
	} {
		t.Run(name, func(t *testing.T) {
			var ua string
			url := serveList(t, func(w http.ResponseWriter, r *http.Request) {
				ua = r.Header.Get("User-Agent")
				var body []byte
				switch r.URL.Path {
				case "/ct/log_list.json":
					body = tc.list
				case "/ct/log_list.sig":
					body = tc.sig
				}
				if body == nil {
					http.NotFound(w, r)
					return
				}
				_, _ = w.Write(body)
			})
			hc := &http.Client{Timeout: 20 * time.Second}
			data, l, err := Fetch(context.Background(), hc, url+"/ct/log_list.json", "certstream-test", GooglePublicKey())
			if !tc.ok {
				if err == nil || l != nil || data != nil {
					t.Fatalf("Fetch succeeded: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, embeddedJSON) || len(l.Followed()) != len(Embedded().Followed()) {
				t.Errorf("Fetch returned %d bytes and %d followed logs", len(data), len(l.Followed()))
			}
			if ua != "certstream-test" {
				t.Errorf("User-Agent %q", ua)
			}
		})
	}
	if _, _, err := Fetch(context.Background(), nil, "http://127.0.0.1:1/list", "", GooglePublicKey()); err == nil {
		t.Error("Fetch accepted a URL without .json")
	}
}
