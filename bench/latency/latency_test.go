package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketBoundsCoverEveryValue(t *testing.T) {
	for _, v := range []int64{0, 1, 255, 256, 257, 300, 511, 512, 1000, 4095, 4096, 123456789, 1<<32 - 1} {
		b := bucket(v)
		if upper(b) < v {
			t.Errorf("value %d: bucket %d upper %d is below it", v, b, upper(b))
		}
		if b > 0 && upper(b-1) >= v {
			t.Errorf("value %d: previous bucket's upper %d already holds it", v, upper(b-1))
		}
		if v >= exact && float64(upper(b)-v) > float64(v)/64 {
			t.Errorf("value %d: bucket upper %d is more than 1/64 off", v, upper(b))
		}
	}
}

func TestQuantilesMatchSortedValues(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 10000)
	for i := range vals {
		vals[i] = r.Int64N(5000)
		h.Record(vals[i])
	}
	h.Record(-3) // counted as 0
	vals = append(vals, 0)
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := vals[int(q*float64(len(vals))+0.5)-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/64+1 {
			t.Errorf("q%.2f: got %d, want %d (within 1/64)", q, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Count() != int64(len(vals)) {
		t.Errorf("max %d count %d, want %d %d", h.Max(), h.Count(), vals[len(vals)-1], len(vals))
	}
}

func TestMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range int64(1000) {
		if i%3 == 0 {
			a.Record(i)
		} else {
			b.Record(i)
		}
		all.Record(i)
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %d, direct %d", q, m.Quantile(q), all.Quantile(q))
		}
	}
	if m.Count() != 1000 || m.Max() != 999 {
		t.Errorf("merged count %d max %d", m.Count(), m.Max())
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("empty histogram quantile not 0")
	}
}
