package scenario

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// goroutineClient fetches goroutine counts; the server is local.
var goroutineClient = &http.Client{Timeout: 2 * time.Second}

// goroutines reads the server's goroutine count from url, which serves
// either Prometheus text ("go_goroutines N") or a pprof goroutine profile
// with debug=1 ("goroutine profile: total N"). It returns -1 when url is
// empty or says neither.
func goroutines(url string) int {
	if url == "" {
		return -1
	}
	resp, err := goroutineClient.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1
	}
	return parseGoroutines(bufio.NewScanner(resp.Body))
}

// parseGoroutines finds the goroutine count in either format.
func parseGoroutines(sc *bufio.Scanner) int {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, prefix := range []string{"go_goroutines ", "goroutine profile: total "} {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					return int(n)
				}
			}
		}
	}
	return -1
}
