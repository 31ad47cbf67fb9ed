package ctclient

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// fourEntriesJSON is the real 2013 get-entries answer and its entries,
// base64-decoded through a generic JSON walk.
func fourEntriesJSON(t testing.TB) ([]byte, [][2][]byte) {
	t.Helper()
	body := readTestdata(t, "rfc6962", "ctgo_scanner_FourEntries.get-entries.json")
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	var want [][2][]byte
	for _, e := range doc["entries"].([]any) {
		m := e.(map[string]any)
		var pair [2][]byte
		for i, k := range []string{"leaf_input", "extra_data"} {
			b, err := base64.StdEncoding.DecodeString(m[k].(string))
			if err != nil {
				t.Fatal(err)
			}
			pair[i] = b
		}
		want = append(want, pair)
	}
	return body, want
}

func TestGetEntriesShortPage(t *testing.T) {
	body, want := fourEntriesJSON(t)
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/log/ct/v1/get-entries" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	})
	c := &RFC6962{BaseURL: url + "/log/", HTTP: testClient()}
	for _, end := range []uint64{3, 9, 1000} {
		got, err := c.GetEntries(context.Background(), 0, end)
		if err != nil {
			t.Fatalf("end %d: %v", end, err)
		}
		if len(got) != len(want) {
			t.Fatalf("end %d: %d entries, want %d", end, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].LeafInput, want[i][0]) || !bytes.Equal(got[i].ExtraData, want[i][1]) {
				t.Errorf("end %d: entry %d differs from the file", end, i)
			}
		}
	}
}

func TestGetEntriesGzip(t *testing.T) {
	body, want := fourEntriesJSON(t)
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gzipBytes(body))
	})
	got, err := (&RFC6962{BaseURL: url, HTTP: testClient()}).GetEntries(context.Background(), 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || !bytes.Equal(got[3].ExtraData, want[3][1]) {
		t.Errorf("gzip answer decoded to %d entries", len(got))
	}
}

func TestGetEntriesDecodeErrors(t *testing.T) {
	body, _ := fourEntriesJSON(t)
	for _, tc := range []struct {
		name, body string
		end        uint64
		mention    string
	}{
		{"more than asked", string(body), 1, "more than the 2 asked"},
		{"truncated JSON", string(body[:len(body)/2]), 9, "JSON"},
		{"garbage base64", `{"entries":[{"leaf_input":"!!not base64!!","extra_data":""}]}`, 9, "JSON"},
		{"no entries", `{"oops":[]}`, 9, "no entries"},
		{"empty leaf", `{"entries":[{"leaf_input":"AAEC","extra_data":""},{"extra_data":"AAEC"}]}`, 9, "index 101"},
		{"not JSON", `<html>maintenance</html>`, 9, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &RFC6962{BaseURL: serveBody(t, 200, []byte(tc.body)), HTTP: testClient()}
			_, err := c.GetEntries(context.Background(), 100, 100+tc.end)
			e := wantKind(t, err, Decode)
			want := fmt.Sprintf("start=100&end=%d", 100+tc.end)
			if msg := e.Error(); !strings.Contains(msg, tc.mention) || !strings.Contains(msg, want) {
				t.Errorf("message %q should mention %q and %q", msg, tc.mention, want)
			}
		})
	}
}

func TestGetEntriesEmptyPage(t *testing.T) {
	c := &RFC6962{BaseURL: serveBody(t, 200, []byte(`{"entries":[]}`)), HTTP: testClient()}
	got, err := c.GetEntries(context.Background(), 0, 9)
	if err != nil || len(got) != 0 {
		t.Errorf("empty page: %d entries, %v", len(got), err)
	}
}

func TestGetEntriesBadRange(t *testing.T) {
	c := &RFC6962{BaseURL: "http://127.0.0.1:1", HTTP: testClient()}
	_, err := c.GetEntries(context.Background(), 10, 9)
	wantKind(t, err, BadRequest)
}

func TestGetSTHSample(t *testing.T) {
	c := &RFC6962{BaseURL: serveBody(t, 200, readTestdata(t, "rfc6962", "ctgo_scanner_FourEntrySTH.get-sth.json")), HTTP: testClient()}
	sth, err := c.GetSTH(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	root, _ := base64.StdEncoding.DecodeString("0JBu0CkZnKXc1niEndDaqqgCRHucCfVt1/WBAXs/5T8=")
	if sth.TreeSize != 4 || sth.Timestamp != 1396877652123 || !bytes.Equal(sth.RootHash[:], root) {
		t.Errorf("STH %+v", sth)
	}
	// Its signature is a placeholder: with a key it must be refused.
	c.PublicKey = testLogKey(t)
	_, err = c.GetSTH(context.Background())
	wantKind(t, err, BadSignature)
}

func TestGetSTHNavigli(t *testing.T) {
	// The navigli get-sth.json carries the real signature of the test key.
	c := &RFC6962{BaseURL: serveBody(t, 200, navigliFile(t, "get-sth.json")), HTTP: testClient(), PublicKey: testLogKey(t)}
	sth, err := c.GetSTH(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sth.TreeSize != 1024 || sth.Timestamp != 1746292699102 {
		t.Errorf("STH %+v", sth)
	}
}

// sthBody builds a get-sth answer.
func sthBody(size, ts uint64, root [32]byte, sig []byte) []byte {
	return fmt.Appendf(nil, `{"tree_size":%d,"timestamp":%d,"sha256_root_hash":%q,"tree_head_signature":%q}`,
		size, ts, base64.StdEncoding.EncodeToString(root[:]), base64.StdEncoding.EncodeToString(sig))
}

func TestGetSTHSignature(t *testing.T) {
	ecKey := newECDSAKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	root := [32]byte{1, 2, 3, 4, 5}
	const size, ts = 123456789, 1780000000123
	for _, tc := range []struct {
		name   string
		signer crypto.Signer
		verify crypto.PublicKey
		body   []byte
		ok     bool
	}{
		{"ecdsa", ecKey, ecKey.Public(), nil, true},
		{"rsa", rsaKey, rsaKey.Public(), nil, true},
		{"ecdsa wrong key", ecKey, newECDSAKey(t).Public(), nil, false},
		{"rsa sig, ecdsa key", rsaKey, ecKey.Public(), nil, false},
		{"ecdsa sig, rsa key", ecKey, rsaKey.Public(), nil, false},
		{"tampered size", ecKey, ecKey.Public(), sthBody(size+1, ts, root, signTreeHead(t, ecKey, ts, size, root)), false},
		{"tampered timestamp", ecKey, ecKey.Public(), sthBody(size, ts+1, root, signTreeHead(t, ecKey, ts, size, root)), false},
		{"sha1 hash", ecKey, ecKey.Public(), sthBody(size, ts, root, append([]byte{2}, signTreeHead(t, ecKey, ts, size, root)[1:]...)), false},
		{"short length", ecKey, ecKey.Public(), sthBody(size, ts, root, signTreeHead(t, ecKey, ts, size, root)[:20]), false},
		{"empty", ecKey, ecKey.Public(), sthBody(size, ts, root, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = sthBody(size, ts, root, signTreeHead(t, tc.signer, ts, size, root))
			}
			c := &RFC6962{BaseURL: serveBody(t, 200, body), HTTP: testClient(), PublicKey: tc.verify}
			sth, err := c.GetSTH(context.Background())
			if !tc.ok {
				wantKind(t, err, BadSignature)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sth != (STH{TreeSize: size, Timestamp: ts, RootHash: root}) {
				t.Errorf("STH %+v", sth)
			}
		})
	}
}

func TestGetSTHDecodeErrors(t *testing.T) {
	for name, body := range map[string]string{
		"short root":   `{"tree_size":1,"timestamp":2,"sha256_root_hash":"AAEC","tree_head_signature":""}`,
		"no size":      `{"timestamp":2,"sha256_root_hash":"0JBu0CkZnKXc1niEndDaqqgCRHucCfVt1/WBAXs/5T8="}`,
		"no timestamp": `{"tree_size":2,"sha256_root_hash":"0JBu0CkZnKXc1niEndDaqqgCRHucCfVt1/WBAXs/5T8="}`,
		"negative":     `{"tree_size":-2,"timestamp":2,"sha256_root_hash":"0JBu0CkZnKXc1niEndDaqqgCRHucCfVt1/WBAXs/5T8="}`,
		"bad base64":   `{"tree_size":2,"timestamp":2,"sha256_root_hash":"%%%"}`,
		"truncated":    `{"tree_size":2,"timest`,
	} {
		t.Run(name, func(t *testing.T) {
			c := &RFC6962{BaseURL: serveBody(t, 200, []byte(body)), HTTP: testClient()}
			_, err := c.GetSTH(context.Background())
			if e := wantKind(t, err, Decode); !strings.Contains(e.Error(), "get-sth") {
				t.Errorf("message %q", e.Error())
			}
		})
	}
}

// BenchmarkDecodeEntries decodes a 1000-entry get-entries page built from
// the real 2013 entries.
func BenchmarkDecodeEntries(b *testing.B) {
	body := readTestdata(b, "rfc6962", "ctgo_scanner_FourEntries.get-entries.json")
	var page struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		b.Fatal(err)
	}
	for len(page.Entries) < 1000 {
		page.Entries = append(page.Entries, page.Entries[len(page.Entries)%4])
	}
	big, _ := json.Marshal(page)
	b.SetBytes(int64(len(big)))
	b.ReportAllocs()
	for b.Loop() {
		if got, err := decodeEntries(big, 0, 999); err != nil || len(got) != 1000 {
			b.Fatal(len(got), err)
		}
	}
}
