package ctclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestKindString(t *testing.T) {
	want := map[Kind]string{
		RateLimited: "429", ServerError: "5xx", Timeout: "timeout", NotFound: "not_found",
		BadRequest: "4xx", Decode: "decode_error", BadSignature: "bad_signature", Redirect: "redirect",
		TooLarge: "too_large", Inconsistent: "inconsistent", DNS: "dns",
	}
	for k, s := range want {
		if got := k.String(); got != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, s)
		}
	}
	if got := Kind(0).String(); got == "" || got == "ok" {
		t.Errorf("the zero Kind has label %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"Fri, 29 May 2026 12:00:30 GMT", 30 * time.Second},
		{"Fri, 29 May 2026 11:00:00 GMT", 0},
		{"99999999999999999999", 0},       // overflows uint64: malformed
		{"999999999999999999", 1<<63 - 1}, // clamped
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		kind       Kind
		wantRetry  time.Duration // exact unless approx
		approx     bool
	}{
		{429, "", RateLimited, 0, false},
		{429, "5", RateLimited, 5 * time.Second, false},
		{429, time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), RateLimited, time.Minute, true},
		{500, "", ServerError, 0, false},
		{503, "2", ServerError, 2 * time.Second, false},
		{404, "", NotFound, 0, false},
		{400, "", BadRequest, 0, false},
		{403, "", BadRequest, 0, false},
	} {
		t.Run(strconv.Itoa(tc.status)+"/"+tc.retryAfter, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte("slow down\n"))
			})
			c := &RFC6962{BaseURL: url, HTTP: testClient()}
			_, err := c.GetEntries(context.Background(), 10, 20)
			e := wantKind(t, err, tc.kind)
			if e.Status != tc.status {
				t.Errorf("Status = %d, want %d", e.Status, tc.status)
			}
			if tc.approx {
				if e.RetryAfter < tc.wantRetry-3*time.Second || e.RetryAfter > tc.wantRetry {
					t.Errorf("RetryAfter = %v, want about %v", e.RetryAfter, tc.wantRetry)
				}
			} else if e.RetryAfter != tc.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tc.wantRetry)
			}
			msg := err.Error()
			for _, part := range []string{"get-entries", url + "/ct/v1/get-entries?start=10&end=20", strconv.Itoa(tc.status), "10-byte body"} {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q does not mention %q", msg, part)
				}
			}
			if strings.Contains(msg, "slow down") || e.Detail != "slow down\n" {
				t.Errorf("the body is in the message %q, or not in Detail %q", msg, e.Detail)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	t.Run("headers", func(t *testing.T) {
		c := &RFC6962{BaseURL: serve(t, stall), HTTP: quickClient()}
		_, err := c.GetSTH(context.Background())
		wantKind(t, err, Timeout)
	})
	t.Run("body", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"entries":[`))
			w.(http.Flusher).Flush()
			stall(w, r)
		})
		c := &RFC6962{BaseURL: url, HTTP: quickClient()}
		_, err := c.GetEntries(context.Background(), 0, 1)
		wantKind(t, err, Timeout)
	})
	t.Run("context", func(t *testing.T) {
		c := &StaticCT{MonitoringURL: serve(t, stall), HTTP: &http.Client{}}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.GetCheckpoint(ctx)
		wantKind(t, err, Timeout)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens on its loopback port any more
		c := &StaticCT{MonitoringURL: srv.URL, HTTP: quickClient()}
		_, err := c.GetDataTile(context.Background(), 0, 0)
		wantKind(t, err, Timeout)
	})
}

// A log whose host name does not resolve fails with kind DNS, not Timeout:
// the resolver here answers nothing without leaving the process.
func TestDNSFailure(t *testing.T) {
	resolver := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{Resolver: resolver}).DialContext}}
	c := &RFC6962{BaseURL: "http://ct.example.invalid/log/", HTTP: hc}
	_, err := c.GetSTH(context.Background())
	wantKind(t, err, DNS)
}

func TestBodyFailures(t *testing.T) {
	t.Run("truncated", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"entries":[`))
		})
		c := &RFC6962{BaseURL: url, HTTP: testClient()}
		_, err := c.GetEntries(context.Background(), 0, 1)
		if e := wantKind(t, err, Decode); !strings.Contains(e.Error(), "truncated") {
			t.Errorf("message %q does not say truncated", e.Error())
		}
	})
	t.Run("announced, none sent", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
		})
		c := &RFC6962{BaseURL: url, HTTP: testClient()}
		_, err := c.GetEntries(context.Background(), 0, 1)
		if e := wantKind(t, err, Decode); !strings.Contains(e.Error(), "truncated") {
			t.Errorf("message %q does not say truncated", e.Error())
		}
	})
	t.Run("over cap by Content-Length", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(maxEntriesBody+1))
			_, _ = w.Write([]byte(`{"entries":[`))
		})
		c := &RFC6962{BaseURL: url, HTTP: testClient()}
		_, err := c.GetEntries(context.Background(), 0, 1)
		if e := wantKind(t, err, TooLarge); !strings.Contains(e.Error(), "cap") {
			t.Errorf("message %q does not mention the cap", e.Error())
		}
	})
	t.Run("over cap streamed", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 32<<10)
			for range maxIssuerBody/len(chunk) + 2 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		})
		c := &StaticCT{MonitoringURL: url, HTTP: testClient()}
		_, err := c.GetIssuer(context.Background(), [32]byte{1})
		if e := wantKind(t, err, TooLarge); !strings.Contains(e.Error(), "cap") {
			t.Errorf("message %q does not mention the cap", e.Error())
		}
	})
	t.Run("unsupported encoding", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "br")
			_, _ = w.Write([]byte("xx"))
		})
		c := &StaticCT{MonitoringURL: url, HTTP: testClient()}
		_, err := c.GetDataTile(context.Background(), 0, 0)
		wantKind(t, err, Decode)
	})
	t.Run("bad gzip", func(t *testing.T) {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write([]byte("not gzip at all"))
		})
		c := &StaticCT{MonitoringURL: url, HTTP: testClient()}
		_, err := c.GetDataTile(context.Background(), 0, 0)
		wantKind(t, err, Decode)
	})
}

func TestRequestHeaders(t *testing.T) {
	type seen struct{ ua, ae, path string }
	got := make(chan seen, 1)
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("User-Agent"), r.Header.Get("Accept-Encoding"), r.URL.RequestURI()}
		http.NotFound(w, r)
	})
	for _, base := range []string{url + "/logs/a", url + "/logs/a/", url + "/logs/a//"} {
		c := &RFC6962{BaseURL: base, HTTP: testClient(), UserAgent: "certstream-test (+https://example.test/contact)"}
		_, err := c.GetEntries(context.Background(), 5, 6)
		wantKind(t, err, NotFound)
		s := <-got
		if s.ua != c.UserAgent || s.ae != "gzip, identity" || s.path != "/logs/a/ct/v1/get-entries?start=5&end=6" {
			t.Errorf("base %q: request %+v", base, s)
		}
	}
}
