// Package filter parses the stream endpoints' filter parameters (domain,
// domain_contains, domain_regex, issuer, log, type) into a Filter and
// matches certificates against it. Parameters combine with AND; the
// comma-separated values of one parameter with OR.
//
// A Set hands out one shared *Filter per distinct filter, so that a router
// evaluates each distinct filter once per certificate however many clients
// use it, and bounds the distinct regular expressions a node holds.
package filter

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"

	"github.com/certstream/certstream/internal/wire"
)

// Params are the query parameters that make up a filter, in canonical order.
var Params = []string{"domain", "domain_contains", "domain_regex", "issuer", "log", "type"}

// Limits bound what one filter and all the filters of a node may hold.
type Limits struct {
	// MaxValues is the most values one filter may list, all parameters
	// together. Default 64.
	MaxValues int
	// MaxRegexLen is the longest domain_regex value, in bytes. Default 256.
	MaxRegexLen int
	// MaxRegexes is the most distinct domain_regex values a Set holds at
	// once. Default 256.
	MaxRegexes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxValues <= 0 {
		l.MaxValues = 64
	}
	if l.MaxRegexLen <= 0 {
		l.MaxRegexLen = 256
	}
	if l.MaxRegexes <= 0 {
		l.MaxRegexes = 256
	}
	return l
}

// Spec is a parsed filter: the values of each parameter, normalized
// (lower-cased except regexes, duplicates removed, sorted). The zero Spec
// matches everything.
type Spec struct {
	Domains  []string // exact names, or "*.suffix"
	Contains []string // substrings of a name
	Regexes  []string // RE2 expressions matched against each name
	Issuers  []string // substrings of the issuer's aggregated name
	Logs     []string // substrings of the source's name or URL
	Types    []string // "x509" or "precert"
}

// Empty reports whether s filters nothing.
func (s Spec) Empty() bool {
	return len(s.Domains)+len(s.Contains)+len(s.Regexes)+len(s.Issuers)+len(s.Logs)+len(s.Types) == 0
}

// String is the canonical query form of s, e.g.
// "domain=*.example.org,example.com&type=precert": equal filters have equal
// strings. It is "" for the empty filter.
func (s Spec) String() string {
	var b strings.Builder
	for i, vals := range s.lists() {
		if len(vals) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(Params[i])
		b.WriteByte('=')
		b.WriteString(strings.Join(vals, ","))
	}
	return b.String()
}

func (s *Spec) lists() [6][]string {
	return [6][]string{s.Domains, s.Contains, s.Regexes, s.Issuers, s.Logs, s.Types}
}

// Parse builds a Spec from query values: get returns every value given for
// a parameter name (nil when absent). Repeating a parameter is the same as
// listing its values with commas. It fails, with a reason fit for the
// client, on an empty value, an unknown type, a regex that does not compile
// or is too long, or more values than lim.MaxValues.
func Parse(get func(name string) []string, lim Limits) (Spec, error) {
	lim = lim.withDefaults()
	var s Spec
	dst := [6]*[]string{&s.Domains, &s.Contains, &s.Regexes, &s.Issuers, &s.Logs, &s.Types}
	n := 0
	for i, name := range Params {
		for _, raw := range get(name) {
			for v := range strings.SplitSeq(raw, ",") {
				v = strings.TrimSpace(v)
				if v == "" {
					return Spec{}, fmt.Errorf("%s: empty value", name)
				}
				if n++; n > lim.MaxValues {
					return Spec{}, fmt.Errorf("more than %d filter values", lim.MaxValues)
				}
				if name != "domain_regex" {
					v = strings.ToLower(v)
				}
				if err := check(name, v, lim); err != nil {
					return Spec{}, err
				}
				*dst[i] = append(*dst[i], v)
			}
		}
		sort.Strings(*dst[i])
		*dst[i] = slices.Compact(*dst[i])
	}
	return s, nil
}

// check validates one value of parameter name.
func check(name, v string, lim Limits) error {
	switch name {
	case "domain":
		if rest, ok := strings.CutPrefix(v, "*."); ok && (rest == "" || strings.Contains(rest, "*")) ||
			!ok && strings.Contains(v, "*") {
			return fmt.Errorf("domain %q: a wildcard is allowed only as a leading \"*.\"", v)
		}
	case "domain_regex":
		if len(v) > lim.MaxRegexLen {
			return fmt.Errorf("domain_regex: longer than %d bytes", lim.MaxRegexLen)
		}
		if _, err := regexp.Compile(v); err != nil {
			var se *syntax.Error
			if errors.As(err, &se) {
				return fmt.Errorf("domain_regex %q: %s", v, se.Code)
			}
			return fmt.Errorf("domain_regex %q: %v", v, err)
		}
	case "type":
		if v != "x509" && v != "precert" {
			return fmt.Errorf("type %q: want x509 or precert", v)
		}
	}
	return nil
}

// Filter is a compiled Spec, shared by every client that asked for it.
type Filter struct {
	spec    Spec
	key     string
	regexes []*regexp.Regexp
	types   [2]bool // by wire.EntryType; both false: any
	refs    int     // clients holding it (guarded by the Set's lock)
}

// compile builds the Filter of s, whose values Parse has checked.
func compile(s Spec) *Filter {
	f := &Filter{spec: s, key: s.String()}
	for _, r := range s.Regexes {
		f.regexes = append(f.regexes, regexp.MustCompile(r))
	}
	for _, t := range s.Types {
		if t == "precert" {
			f.types[wire.PrecertEntry] = true
		} else {
			f.types[wire.X509Entry] = true
		}
	}
	return f
}

// String is the filter's canonical query form (see Spec.String).
func (f *Filter) String() string { return f.key }

// Match reports whether u passes every parameter of the filter. A nil
// Filter matches everything.
func (f *Filter) Match(u *wire.Update) bool {
	if f == nil {
		return true
	}
	s := &f.spec
	if len(s.Types) > 0 && (int(u.Type) >= len(f.types) || !f.types[u.Type]) {
		return false
	}
	var names []string
	var issuer string
	if u.Leaf != nil {
		names, issuer = u.Leaf.AllDomains, u.Leaf.Issuer.Aggregated
	}
	if len(s.Domains) > 0 && !anyName(names, s.Domains, matchDomain) {
		return false
	}
	if len(s.Contains) > 0 && !anyName(names, s.Contains, containsFold) {
		return false
	}
	if len(f.regexes) > 0 && !anyRegex(names, f.regexes) {
		return false
	}
	if len(s.Issuers) > 0 && !anyOf(issuer, s.Issuers) {
		return false
	}
	if len(s.Logs) > 0 {
		var name, url string
		if u.Source != nil {
			name, url = u.Source.Name, u.Source.URL
		}
		if !anyOf(name, s.Logs) && !anyOf(url, s.Logs) {
			return false
		}
	}
	return true
}

// anyName reports whether match holds for some name and some pattern.
func anyName(names, patterns []string, match func(name, pattern string) bool) bool {
	for _, n := range names {
		for _, p := range patterns {
			if match(n, p) {
				return true
			}
		}
	}
	return false
}

func anyRegex(names []string, res []*regexp.Regexp) bool {
	for _, n := range names {
		for _, re := range res {
			if re.MatchString(n) {
				return true
			}
		}
	}
	return false
}

// anyOf reports whether s contains one of subs, ignoring ASCII case.
func anyOf(s string, subs []string) bool {
	for _, sub := range subs {
		if containsFold(s, sub) {
			return true
		}
	}
	return false
}

// matchDomain reports whether name is pattern (a lower-case name), or for
// a "*.suffix" pattern ends with ".suffix", ignoring ASCII case.
func matchDomain(name, pattern string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return len(name) > len(suffix) && strings.EqualFold(name[len(name)-len(suffix):], suffix)
	}
	return strings.EqualFold(name, pattern)
}

// containsFold reports whether s contains sub (lower case), ignoring ASCII
// case, without allocating.
func containsFold(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if lower(s[i]) != sub[0] {
			continue
		}
		j := 1
		for j < len(sub) && lower(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
