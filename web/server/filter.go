package server

import (
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/filter"
)

// acquireFilter parses the request's filter parameters and acquires the
// shared filter (nil when the request has none). A malformed or over-limit
// filter is answered with a 400 carrying the reason, and ok is false. A
// filter acquired must be released with s.filters.Release.
func (s *Server) acquireFilter(ctx *fasthttp.RequestCtx) (f *filter.Filter, ok bool) {
	args := ctx.QueryArgs()
	spec, err := filter.Parse(func(name string) []string {
		var vals []string
		for _, v := range args.PeekMulti(name) {
			vals = append(vals, string(v))
		}
		return vals
	}, s.filters.Limits())
	if err == nil {
		f, err = s.filters.Acquire(spec)
	}
	if err != nil {
		Error(ctx, fasthttp.StatusBadRequest, "bad filter: "+err.Error())
		return nil, false
	}
	return f, true
}
