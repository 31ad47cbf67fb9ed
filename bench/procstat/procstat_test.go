package procstat

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Field 2 holds spaces and a ')'; utime 150 and stime 50 ticks.
	stat := "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 7 0 100 1000 200\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 2*time.Second {
		t.Errorf("cpu %v, want 2s", got)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1 2")); err == nil || !strings.Contains(err.Error(), "fields") {
		t.Errorf("short stat: err %v", err)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t7\n"
	var s Sample
	if err := parseStatus([]byte(status), &s); err != nil {
		t.Fatal(err)
	}
	if s.RSS != 1<<20 || s.PeakRSS != 2<<20 || s.Threads != 7 {
		t.Errorf("got %+v", s)
	}
	if err := parseStatus([]byte("VmRSS:\t1 kB\n"), &s); err == nil {
		t.Error("missing fields not reported")
	}
}

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.PeakRSS < s.RSS || s.Threads < 1 {
		t.Errorf("implausible sample %+v", s)
	}
	if _, err := Read(-1); err == nil {
		t.Error("no error for pid -1")
	}
	if _, err := LoadAvg(); err != nil {
		t.Error(err)
	}
}
