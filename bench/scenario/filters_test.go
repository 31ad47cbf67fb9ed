package scenario

import "testing"

func TestFiltersMatchAsTheServerDoes(t *testing.T) {
	names := []string{"abc123def456.example.test", "Zz0000000000.EXAMPLE.test"}
	for _, c := range []struct {
		f    Filter
		want bool
	}{
		{DomainFilter("*.example.test"), true},
		{DomainFilter("abc123def456.example.test"), true},
		{DomainFilter("*.abc123def456.example.test"), false}, // a suffix needs a label before it
		{DomainFilter("zz0000000000.example.test"), true},    // case is ignored
		{DomainFilter("host1.example.test", "*.zone1.example.test"), false},
		{RegexFilter(`^ab[a-z0-9]*\.example\.test$`), true},
		{RegexFilter(`^zz`), false}, // regexes keep case
	} {
		if got := c.f.Match(names); got != c.want {
			t.Errorf("%s: %v, want %v", c.f.Query, got, c.want)
		}
	}
}

func TestGeneratedFiltersAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	all := 0
	for _, f := range append(domainFilters(1000), regexFilters(100)...) {
		if seen[f.Query] {
			t.Fatalf("filter %s twice", f.Query)
		}
		seen[f.Query] = true
		if f.Match([]string{"q" + fakeSuffix}) {
			all++
		}
	}
	if all != 1000/filtersMatchAllEvery {
		t.Errorf("%d filters match every certificate, want %d", all, 1000/filtersMatchAllEvery)
	}
}
