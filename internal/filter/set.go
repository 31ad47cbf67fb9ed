package filter

import (
	"fmt"
	"sync"
)

// Set holds the filters in use, one *Filter per distinct filter, counted
// by the clients that hold it, and bounds the distinct regular expressions
// among them. It is safe for concurrent use.
type Set struct {
	lim     Limits
	mu      sync.Mutex
	filters map[string]*Filter
	regexes map[string]int // distinct domain_regex values, by the filters using them
}

// NewSet returns an empty Set enforcing lim.
func NewSet(lim Limits) *Set {
	return &Set{lim: lim.withDefaults(), filters: map[string]*Filter{}, regexes: map[string]int{}}
}

// Limits returns the limits the Set enforces (Parse's too).
func (s *Set) Limits() Limits { return s.lim }

// Acquire returns the shared Filter for spec, creating it when no client
// holds one, or nil for the empty spec. It fails when the filter would
// bring the Set over its distinct-regex limit. Every Filter acquired must
// be released once.
func (s *Set) Acquire(spec Spec) (*Filter, error) {
	if spec.Empty() {
		return nil, nil
	}
	key := spec.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.filters[key]; f != nil {
		f.refs++
		return f, nil
	}
	added := 0
	for _, r := range spec.Regexes {
		if s.regexes[r] == 0 {
			added++
		}
	}
	if added > 0 && len(s.regexes)+added > s.lim.MaxRegexes {
		return nil, fmt.Errorf("too many distinct domain_regex filters on this node (limit %d)", s.lim.MaxRegexes)
	}
	f := compile(spec)
	f.refs = 1
	s.filters[key] = f
	for _, r := range spec.Regexes {
		s.regexes[r]++
	}
	return f, nil
}

// Release gives back a Filter from Acquire (nil is ignored); the last
// release forgets it.
func (s *Set) Release(f *Filter) {
	if f == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.refs--; f.refs > 0 || s.filters[f.key] != f {
		return
	}
	delete(s.filters, f.key)
	for _, r := range f.spec.Regexes {
		if s.regexes[r]--; s.regexes[r] <= 0 {
			delete(s.regexes, r)
		}
	}
}

// Len returns the number of distinct filters in use.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.filters)
}
