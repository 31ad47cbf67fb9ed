package ctclient

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// validSTH is a valid get-sth answer.
const validSTH = `{"tree_size":5,"timestamp":1,"sha256_root_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","tree_head_signature":""}`

// TestRedirectsStayOnTheLogsOrigin follows redirects on the log's own
// scheme, host and port only, and a bounded number of them.
func TestRedirectsStayOnTheLogsOrigin(t *testing.T) {
	var elsewhere atomic.Int64
	other := serve(t, func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(validSTH))
	})
	var hops atomic.Int64
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away/ct/v1/get-sth":
			http.Redirect(w, r, other+r.URL.Path, http.StatusFound)
		case "/moved/ct/v1/get-sth":
			http.Redirect(w, r, "/here/ct/v1/get-sth", http.StatusMovedPermanently)
		case "/here/ct/v1/get-sth":
			_, _ = w.Write([]byte(validSTH))
		case "/loop/ct/v1/get-sth":
			hops.Add(1)
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
	t.Run("to another origin", func(t *testing.T) {
		c := &RFC6962{BaseURL: url + "/away/", HTTP: testClient()}
		_, err := c.GetSTH(context.Background())
		e := wantKind(t, err, Redirect)
		if e.Status != http.StatusFound || elsewhere.Load() != 0 {
			t.Errorf("status %d; the other origin saw %d requests", e.Status, elsewhere.Load())
		}
		if strings.Contains(err.Error(), other) {
			t.Errorf("message %q names the redirect target", err)
		}
	})
	t.Run("on the same origin", func(t *testing.T) {
		c := &RFC6962{BaseURL: url + "/moved/", HTTP: testClient()}
		if sth, err := c.GetSTH(context.Background()); err != nil || sth.TreeSize != 5 {
			t.Errorf("GetSTH = %+v, %v", sth, err)
		}
	})
	t.Run("in a loop", func(t *testing.T) {
		c := &RFC6962{BaseURL: url + "/loop/", HTTP: testClient()}
		_, err := c.GetSTH(context.Background())
		wantKind(t, err, Redirect)
		if n := hops.Load(); n != maxRedirects+1 {
			t.Errorf("%d requests, want %d", n, maxRedirects+1)
		}
	})
}

// TestErrorBodyStaysOutOfTheMessage keeps what a log answers with an error
// status out of the error's message (which the node publishes): only the
// status and the body's size, the start of the body in Detail.
func TestErrorBodyStaysOutOfTheMessage(t *testing.T) {
	const secret = "internal-token-3f9a: <script>alert(1)</script>"
	url := serveBody(t, http.StatusForbidden, []byte(secret+strings.Repeat(".", 1000)))
	c := &RFC6962{BaseURL: url, HTTP: testClient()}
	_, err := c.GetSTH(context.Background())
	e := wantKind(t, err, BadRequest)
	msg := err.Error()
	if strings.Contains(msg, "internal-token") || !strings.Contains(msg, "403") || !strings.Contains(msg, strconv.Itoa(len(secret)+1000)+"-byte body") {
		t.Errorf("message %q", msg)
	}
	if !strings.HasPrefix(e.Detail, secret) || len(e.Detail) > snippetLen {
		t.Errorf("Detail %q", e.Detail)
	}
}

// TestGetEntriesBodyCap caps a get-entries body by the entries asked.
func TestGetEntriesBodyCap(t *testing.T) {
	const asked = 4
	limit := entriesLimit(asked)
	if limit >= 4<<20 {
		t.Fatalf("cap of %d bytes for %d entries", limit, asked)
	}
	// A valid answer of one entry, padded with spaces to size bytes.
	padded := func(size int64) []byte {
		b, _ := json.Marshal(map[string]any{"entries": []map[string][]byte{{"leaf_input": []byte{1}, "extra_data": nil}}})
		return append(b, strings.Repeat(" ", int(size)-len(b))...)
	}
	for _, tc := range []struct {
		name    string
		size    int64
		chunked bool
		want    Kind
	}{
		{"at the cap", limit, false, 0},
		{"over the cap by Content-Length", limit + 1, false, TooLarge},
		{"over the cap streamed", limit + 1, true, TooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := padded(tc.size)
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				_, _ = w.Write(body)
			})
			c := &RFC6962{BaseURL: url, HTTP: testClient()}
			_, err := c.GetEntries(context.Background(), 10, 10+asked-1)
			if tc.want == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, tc.want)
		})
	}
}
