package node

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/actors/lifecycle"
)

// httpClient talks to test nodes; InsecureSkipVerify is for the
// self-signed certificate of the TLS test only.
var httpClient = &http.Client{Timeout: 10 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get requests url with headers given as name, value pairs.
func get(t *testing.T, url string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

// getJSON requests url, expects status want and decodes the body into v.
func getJSON(t *testing.T, url string, want int, v any, headers ...string) {
	t.Helper()
	r := get(t, url, headers...)
	if r.status != want {
		t.Fatalf("GET %s: %d, want %d: %s", url, r.status, want, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, r.body)
	}
}

// base is the node's http URL.
func base(n *Node) string { return "http://" + n.Addr().String() }

// scrape reads the node's metrics as name{labels} → value.
func scrape(t *testing.T, n *Node, headers ...string) map[string]float64 {
	t.Helper()
	r := get(t, base(n)+"/metrics", headers...)
	if r.status != 200 {
		t.Fatalf("metrics: %d %s", r.status, r.body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("metrics line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// logLabel is the metric label of a fake log.
func logLabel(desc string) string { return fmt.Sprintf(`{log=%q}`, desc) }

// rawRequest sends req verbatim on a new connection and returns the
// response status (0 when the connection closed without one).
func rawRequest(t *testing.T, addr, req string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// findKind returns every view of kind under v.
func findKind(v *lifecycle.View, kind string) []*lifecycle.View {
	var out []*lifecycle.View
	if v.Kind == kind {
		out = append(out, v)
	}
	for _, c := range v.Children {
		out = append(out, findKind(c, kind)...)
	}
	return out
}
