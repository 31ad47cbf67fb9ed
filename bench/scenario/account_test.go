package scenario

import "testing"

func TestSoakSummaryUsesMediansAfterWarmup(t *testing.T) {
	sk := &SoakResult{WarmupSecs: 20}
	// Two warm-up samples, then nine: flat but for one spike each in RSS
	// and goroutines, and a slight rise at the end.
	for i, v := range []struct {
		rss int64
		g   int
	}{{50, 90}, {90, 95}, {100, 100}, {100, 400}, {101, 100}, {100, 100}, {150, 100}, {102, 100}, {102, 101}, {103, 101}, {103, 102}} {
		sk.Samples = append(sk.Samples, SoakSample{Secs: float64(10 * i), RSS: v.rss, Goroutines: v.g})
	}
	sk.summarize()
	if sk.WarmRSS != 100 || sk.EndRSS != 103 || sk.RSSGrowthPct != 3 {
		t.Errorf("RSS %d → %d (%v%%), want 100 → 103 (3%%)", sk.WarmRSS, sk.EndRSS, sk.RSSGrowthPct)
	}
	if sk.WarmGoroutine != 100 || sk.EndGoroutine != 101 {
		t.Errorf("goroutines %d → %d, want 100 → 101", sk.WarmGoroutine, sk.EndGoroutine)
	}
	empty := &SoakResult{WarmupSecs: 1000, Samples: []SoakSample{{Secs: 1, RSS: 5}}}
	empty.summarize()
	if empty.WarmRSS != 0 || empty.RSSGrowthPct != 0 {
		t.Errorf("no sample after warm-up, yet %+v", empty)
	}
}
