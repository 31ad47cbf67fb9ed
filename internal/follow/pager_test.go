package follow

import "testing"

// TestPagerLearnsPages drives a pager against simulated logs, one request
// at a time, and counts the requests needed to read entries 7..5000: the
// fewest possible, plus a few while learning.
func TestPagerLearnsPages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		serve   func(start, end uint64) uint64 // entries answered for [start, end)
		maxReqs int
	}{
		{"uncapped", func(s, e uint64) uint64 { return e - s }, 5000/256 + 1},
		{"capped at 100", func(s, e uint64) uint64 { return min(e-s, 100) }, 5000/100 + 6},
		{"aligned at 32", func(s, e uint64) uint64 { return min(e, (s/32+1)*32) - s }, 5000/32 + 6},
		{"aligned at 1000", func(s, e uint64) uint64 { return min(e, (s/1000+1)*1000) - s }, 5000/256 + 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPager(256)
			reqs := 0
			for next := uint64(7); next < 5000; {
				end := p.window(next, 5000)
				n := tc.serve(next, end)
				p.observe(next, end-next, n)
				next += n
				reqs++
			}
			if reqs > tc.maxReqs {
				t.Errorf("%d requests, want at most %d", reqs, tc.maxReqs)
			}
		})
	}
}

// TestPagerGrowsBack lowers the window after short answers and raises it
// again once the log serves full pages.
func TestPagerGrowsBack(t *testing.T) {
	p := newPager(256)
	p.observe(0, 256, 3) // a log that served 3 once (its own head lagged)
	if end := p.window(3, 10000); end != 6 {
		t.Fatalf("window after a short answer of 3: [3, %d)", end)
	}
	next := uint64(3)
	for range 40 {
		end := p.window(next, 10000)
		p.observe(next, end-next, end-next)
		next = end
	}
	if end := p.window(next, 100000); end-next != 256 {
		t.Fatalf("window of %d entries after 40 full answers, want 256", end-next)
	}
}
