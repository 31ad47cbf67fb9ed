package server

import (
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/messages"
)

// options are what a client asked for in its request, beyond the stream:
// its filter, where to resume, and the opt-in extras.
type options struct {
	filter  *filter.Filter // nil: none; release with s.filters.Release
	resume  bool
	since   uint64
	seq     bool
	notices bool
	deflate bool // negotiated permessage-deflate
}

// apply copies o into a subscription.
func (o *options) apply(m *messages.Subscribe) {
	m.Filter, m.Resume, m.Since, m.Seq, m.Notices, m.Deflate = o.filter, o.resume, o.since, o.seq, o.notices, o.deflate
}

// parseOptions reads the request's options: since=<seq> (or, which wins,
// the Last-Event-ID header of a reconnecting EventSource), seq=1,
// notices=1 and the filter parameters. A malformed one is answered with a
// 400 carrying the reason, and ok is false. The filter acquired must be
// released once the client is gone.
func (s *Server) parseOptions(ctx *fasthttp.RequestCtx) (o options, ok bool) {
	args := ctx.QueryArgs()
	var err error
	since := args.Peek("since")
	if id := ctx.Request.Header.Peek("Last-Event-ID"); len(id) > 0 {
		since = id
	}
	if len(since) > 0 {
		o.resume = true
		if o.since, err = strconv.ParseUint(string(since), 10, 64); err != nil {
			Error(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad since %q: want a sequence number", since))
			return o, false
		}
	}
	for name, dst := range map[string]*bool{"seq": &o.seq, "notices": &o.notices} {
		v := args.Peek(name)
		if len(v) == 0 {
			continue
		}
		if *dst, err = strconv.ParseBool(string(v)); err != nil {
			Error(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad %s %q: want 1 or 0", name, v))
			return o, false
		}
	}
	o.filter, ok = s.acquireFilter(ctx)
	return o, ok
}
