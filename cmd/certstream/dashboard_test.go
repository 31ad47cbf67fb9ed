package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/internal/await"
)

// dashboardFile is the Grafana dashboard the compose file provisions.
const dashboardFile = "../../deploy/grafana/dashboards/certstream.json"

// dashboard is the part of a Grafana dashboard that holds queries.
type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// dashboardQueries returns every PromQL query of the dashboard, with the
// Grafana variables replaced by what Grafana would send: all logs, a rate
// window of one minute. A variable's label_values(metric, label) becomes
// the query listing the label's values.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "${log}", ".*", "$log", ".*")
	queries := map[string]string{} // query → where it is
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			queries[vars.Replace(tg.Expr)] = "panel " + p.Title
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((\w+), *(\w+)\)$`)
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			queries[fmt.Sprintf("count by (%s) (%s)", m[2], m[1])] = "variable " + v.Name
		}
	}
	for q, where := range queries {
		if strings.Contains(q, "$") {
			t.Errorf("%s: a Grafana variable the check does not know: %s", where, q)
		}
	}
	return queries
}

func TestDashboardQueriesAreWellFormed(t *testing.T) {
	queries := dashboardQueries(t)
	if len(queries) < 30 {
		t.Fatalf("only %d queries in %s", len(queries), dashboardFile)
	}
}

// TestDashboardAgainstPrometheus runs the demo with its archive on, a few
// clients (one of which leaves), and a real Prometheus scraping it every
// second; after 30 s every dashboard query must return data. It needs
// Prometheus: scripts/check-dashboard.sh (make dashboard-check) installs
// it and sets PROMETHEUS_BINARY.
func TestDashboardAgainstPrometheus(t *testing.T) {
	prometheus := os.Getenv("PROMETHEUS_BINARY")
	if prometheus == "" {
		t.Skip("set PROMETHEUS_BINARY to a prometheus binary (make dashboard-check does)")
	}
	queries := dashboardQueries(t)
	dir := t.TempDir()
	node := startDemo(t, dir)
	streamClients(t, node)

	promAddr := freeAddr(t)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: certstream
    static_configs:
      - targets: [%q]
`, node)), 0o644)
	var promLog lockedBuffer
	cmd := exec.Command(prometheus, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", promLog.String())
		}
	}()
	api := "http://" + promAddr
	await.True(t, 30*time.Second, "prometheus ready", func() bool {
		r, err := http.Get(api + "/-/ready")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	})
	t.Log("prometheus ready; scraping the demo for 30 s")
	time.Sleep(30 * time.Second) // samples for the rate windows

	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, api+"/api/v1/targets", &targets)
	if len(targets.Data.ActiveTargets) != 1 || targets.Data.ActiveTargets[0].Health != "up" {
		t.Fatalf("the scrape failed: %+v", targets.Data.ActiveTargets)
	}
	var untyped struct {
		Data []struct {
			Metric string `json:"metric"`
			Type   string `json:"type"`
		} `json:"data"`
	}
	getJSON(t, api+"/api/v1/targets/metadata?match_target="+url.QueryEscape(`{job="certstream"}`), &untyped)
	types := map[string]int{}
	for _, m := range untyped.Data {
		types[m.Type]++
	}
	t.Logf("metric families by type: %v", types)
	if types["counter"] == 0 || types["histogram"] == 0 || types["unknown"] > 0 || types["untyped"] > 0 {
		t.Errorf("families must scrape typed: %v", types)
	}

	for q, where := range queries {
		var res struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		getJSON(t, api+"/api/v1/query?query="+url.QueryEscape(q), &res)
		switch {
		case res.Status != "success":
			t.Errorf("%s: %s: %s", where, q, res.Error)
		case len(res.Data.Result) == 0:
			t.Errorf("%s: no data: %s", where, q)
		default:
			t.Logf("ok  %3d series  %s", len(res.Data.Result), q)
		}
	}
}

// startDemo runs the demo on a loopback port with the archive on in dir,
// until the test ends, and returns its address.
func startDemo(t *testing.T, dir string) string {
	t.Helper()
	file := filepath.Join(dir, "demo.toml")
	os.WriteFile(file, []byte(fmt.Sprintf("[delta_sink]\nenabled = true\ntable_path = %q\nflush_interval_secs = 1\n",
		filepath.Join(dir, "table"))), 0o644)
	addr, _ := demoInTest(t, "--config", file, "--rate", "50")
	return addr
}

// demoInTest runs the demo with args on 127.0.0.1 until the test ends and
// returns its address and what it prints (the banner).
func demoInTest(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- demo(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("demo exited with %d:\n%s", code, stderr.String())
		}
	})
	addr := regexp.MustCompile(`ws://(127\.0\.0\.1:[0-9]+)/`)
	return await.Value(t, 10*time.Second, "the demo's address", func() (string, bool) {
		m := addr.FindStringSubmatch(stdout.String())
		if m == nil {
			return "", false
		}
		return m[1], true
	}), &stdout
}

// streamClients keeps a WebSocket client on each stream and an SSE client
// reading until the test ends, and connects one more that leaves at once.
func streamClients(t *testing.T, addr string) {
	t.Helper()
	for _, path := range []string{"/", "/full-stream", "/domains-only", "/"} {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	leaving, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/domains-only", nil)
	if err != nil {
		t.Fatal(err)
	}
	leaving.Close() // a disconnect, for the disconnect reasons
	resp, err := http.Get("http://" + addr + "/sse?stream=lite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
	}()
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}
