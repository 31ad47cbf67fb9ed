package archive

import (
	"fmt"
	"time"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/certtable"
	"github.com/certstream/certstream/internal/wire"
)

// commit is one batch being committed on its own goroutine. It owns the
// writer and reads buf[:pending], which the Archive leaves alone until the
// commit is done.
type commit struct {
	done chan result
}

// result is what a commit reports back.
type result struct {
	writer *delta.Writer // nil if the table could not be opened (or the commit panicked)
	seq    int64         // the sequence used; -1 if the table was not opened
	known  int           // rows of the batch left out: the table already had them
	res    delta.Result
	err    error
	took   time.Duration
}

// start forms the batch if needed and commits it on a new goroutine, which
// calls notify, if not nil, when it ends.
func (a *Archive) start(notify func()) {
	if a.pending == 0 {
		a.pending = min(len(a.buf), a.cfg.BatchSize)
	}
	rows := a.buf[:a.pending:a.pending]
	c := &commit{done: make(chan result, 1)}
	a.commit = c
	w, seq, opts := a.writer, a.seq, a.cfg.writerOptions()
	a.writer = nil
	go func() {
		c.done <- commitRows(opts, w, seq, rows)
		if notify != nil {
			notify()
		}
	}()
}

// commitRows opens the table if needed and commits rows as batch seq (or,
// when seq is -1, as the batch after the last one this sink committed).
func commitRows(opts delta.Options, w *delta.Writer, seq int64, rows []*wire.Update) (r result) {
	began := opts.Now()
	r.seq = seq
	defer func() {
		if v := recover(); v != nil {
			r.writer, r.err = nil, fmt.Errorf("delta sink: flush panicked: %v", v)
		}
		r.took = opts.Now().Sub(began)
	}()
	if w == nil {
		var err error
		if w, err = delta.Open(opts); err != nil {
			r.err = err
			return r
		}
	}
	r.writer = w
	if r.seq < 0 {
		r.seq = w.LastTxn() + 1
	}
	rows, r.known = unarchived(rows, w.Marks())
	if len(rows) == 0 {
		r.res.Version = w.Version()
		return r
	}
	parts, err := certtable.Parts(rows)
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		for _, p := range parts {
			p.Record.Release()
		}
	}()
	r.res, r.err = w.Commit(r.seq, parts, marks(rows))
	return r
}

// unarchived returns rows without those the table already holds by its
// marks (rows of a log below its mark were archived before a crash and
// fetched again after it), and how many it left out. rows is not modified.
func unarchived(rows []*wire.Update, marks map[string]int64) ([]*wire.Update, int) {
	if len(marks) == 0 {
		return rows, 0
	}
	var out []*wire.Update
	for i, u := range rows {
		known := u.Source != nil && int64(u.Index) < marks[u.Source.URL]
		switch {
		case known && out == nil:
			out = append(make([]*wire.Update, 0, len(rows)), rows[:i]...)
		case !known && out != nil:
			out = append(out, u)
		}
	}
	if out == nil {
		return rows, 0
	}
	return out, len(rows) - len(out)
}

// marks returns, per log in rows, the next index after its rows there.
func marks(rows []*wire.Update) map[string]int64 {
	m := make(map[string]int64)
	for _, u := range rows {
		if u.Source != nil {
			m[u.Source.URL] = max(m[u.Source.URL], int64(u.Index)+1)
		}
	}
	return m
}
