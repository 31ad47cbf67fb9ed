package follow

import "sync"

// growAfter is how many full answers in a row make a pager try a bigger
// window.
const growAfter = 4

// pager learns how many entries a log serves in one get-entries answer,
// and whether it ends its pages at multiples of some number (as several
// real logs do: asked for [s, e], they answer s up to the next multiple of
// their page size), so that each window asks for what one answer holds: up
// to the next boundary, or as many as the most the log has served at once.
// It tries bigger windows after full answers. It is safe for concurrent use.
type pager struct {
	mu      sync.Mutex
	limit   uint64 // never ask for more: the configured batch size
	page    uint64 // the window size
	largest uint64 // the most entries the log returned in one answer
	cuts    uint64 // the gcd of the indexes at which short answers ended
	nCuts   int    // how many short answers went into cuts
	full    int    // full answers in a row since the window last grew
}

// newPager returns a pager asking for up to limit entries at a time.
func newPager(limit int) *pager {
	l := uint64(max(limit, 1))
	return &pager{limit: l, page: l}
}

// window returns the end of the window that starts at start, at most size:
// up to the log's next page boundary when it has them, else a page.
func (p *pager) window(start, size uint64) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	end := start + p.page
	if b := p.boundary(); b > 0 {
		end = min(start+p.limit, (start/b+1)*b)
	}
	return min(end, size)
}

// boundary returns the multiple at which the log ends its pages, or 0 when
// it does not seem to: two short answers ended at multiples of it, and no
// answer was larger. Called with mu held.
func (p *pager) boundary() uint64 {
	if p.nCuts >= 2 && p.cuts >= p.largest {
		return p.cuts
	}
	return 0
}

// observe learns from an answer of n >= 1 entries to a request for asked
// entries from start.
func (p *pager) observe(start, asked, n uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.largest = max(p.largest, n)
	if n >= asked {
		p.full++
		if p.full >= growAfter && p.page < p.limit {
			p.page, p.full = min(2*p.page, p.limit), 0
		}
		return
	}
	p.full = 0
	p.cuts = gcd(p.cuts, start+n)
	p.nCuts++
	p.page = p.largest
}

// gcd returns the greatest common divisor of a and b (gcd(0, b) = b).
func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
