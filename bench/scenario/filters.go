package scenario

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Filter is one client's server-side filter: the query that asks for it
// and the harness's own reading of it, against which what the client
// received is checked.
type Filter struct {
	Query   string         // e.g. "domain=a.example.test,*.b.example.test"
	Domains []string       // exact names, or "*.suffix", lower case
	Regex   *regexp.Regexp // nil: none
}

// DomainFilter is a filter on the names (exact, or "*.suffix").
func DomainFilter(names ...string) Filter {
	return Filter{Query: url.Values{"domain": {strings.Join(names, ",")}}.Encode(), Domains: names}
}

// RegexFilter is a domain_regex filter.
func RegexFilter(expr string) Filter {
	return Filter{Query: url.Values{"domain_regex": {expr}}.Encode(), Regex: regexp.MustCompile(expr)}
}

// Match reports whether a certificate with these names passes the filter.
func (f *Filter) Match(names []string) bool {
	for _, n := range names {
		if f.Regex != nil && f.Regex.MatchString(n) {
			return true
		}
		for _, d := range f.Domains {
			if suffix, ok := strings.CutPrefix(d, "*"); ok {
				if len(n) > len(suffix) && strings.EqualFold(n[len(n)-len(suffix):], suffix) {
					return true
				}
			} else if strings.EqualFold(n, d) {
				return true
			}
		}
	}
	return false
}

// unmatched counts the records the filter does not match.
func (f *Filter) unmatched(records [][]string) int64 {
	var n int64
	for _, names := range records {
		if !f.Match(names) {
			n++
		}
	}
	return n
}

// expectations returns how many of the reference client's window messages
// each filter matches (by query, computed once), or -1 without a reference.
func (r *run) expectations() func(*Filter) int64 {
	var ref [][]string
	found := false
	for _, m := range r.members {
		if r.spec.Groups[m.group].Reference {
			ref, found = m.c.Records(), true
			break
		}
	}
	memo := map[string]int64{}
	return func(f *Filter) int64 {
		if !found {
			return -1
		}
		n, ok := memo[f.Query]
		if !ok {
			n = int64(len(ref)) - f.unmatched(ref)
			memo[f.Query] = n
		}
		return n
	}
}

// fakeSuffix is the domain under which the fake logs name every
// certificate: 1-3 names of 12 random letters and digits each.
const fakeSuffix = ".example.test"

// filtersMatchAllEvery is how often (one domain filter in this many) a
// domain filter also lists "*"+fakeSuffix, and so matches every
// certificate; the others match none.
const filtersMatchAllEvery = 100

// domainFilters returns n distinct domain filters over the fake logs'
// names: one in filtersMatchAllEvery matches every certificate, the others
// name hosts under the same suffix that the logs never produce, so that
// each is compared in full.
func domainFilters(n int) []Filter {
	out := make([]Filter, n)
	for i := range out {
		names := []string{fmt.Sprintf("host%d%s", i, fakeSuffix), fmt.Sprintf("*.zone%d%s", i, fakeSuffix)}
		if i%filtersMatchAllEvery == 0 {
			names[1] = "*" + fakeSuffix
		}
		out[i] = DomainFilter(names...)
	}
	return out
}

// regexFilters returns n distinct domain_regex filters, each matching the
// names that start with two given characters: one name in 1,296.
func regexFilters(n int) []Filter {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]Filter, n)
	for i := range out {
		out[i] = RegexFilter(fmt.Sprintf(`^%c%c[a-z0-9]*\.example\.test$`, alphabet[i%36], alphabet[i/36%36]))
	}
	return out
}
