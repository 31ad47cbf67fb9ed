package follow

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/certstream/certstream/internal/ctclient"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/wire"
)

// errEmptyPage is a get-entries answer with no entries for a range inside
// the tree: retried like any other failure.
var errEmptyPage = errors.New("log returned no entries for a range inside its tree")

// rfc6962Source fetches with get-sth and get-entries.
type rfc6962Source struct {
	f    *Follower
	c    *ctclient.RFC6962
	mu   sync.Mutex
	page int // window size: BatchSize, lowered to the log's observed page cap
}

func (s *rfc6962Source) head(ctx context.Context) (uint64, uint64, error) {
	var sth ctclient.STH
	err := s.f.request(ctx, func() (err error) {
		sth, err = s.c.GetSTH(ctx)
		return err
	})
	return sth.TreeSize, sth.Timestamp, err
}

func (s *rfc6962Source) window(start, size uint64) uint64 {
	return min(start+uint64(s.pageSize()), size)
}

func (s *rfc6962Source) fetch(ctx context.Context, start, end, _ uint64) (fetched, error) {
	var raw []ctclient.RawEntry
	err := s.f.request(ctx, func() (err error) {
		raw, err = s.c.GetEntries(ctx, start, end-1)
		if err == nil && len(raw) == 0 {
			err = &ctclient.Error{Op: "get-entries", URL: s.c.BaseURL, Kind: ctclient.Decode,
				Err: errEmptyPage}
		}
		return err
	})
	if err != nil {
		return fetched{}, err
	}
	if n := len(raw); uint64(n) < end-start {
		s.observePage(n)
	}
	out := fetched{ups: make([]*wire.Update, 0, len(raw)), n: uint64(len(raw))}
	for i, r := range raw {
		index := start + uint64(i)
		e, err := ctdecode.DecodeRFC6962(index, r.LeafInput, r.ExtraData, s.f.deps.Chains)
		if err != nil {
			out.bad = append(out.bad, badLeaf{index, err})
			continue
		}
		out.ups = append(out.ups, s.f.update(e, EntryLink(s.c.BaseURL, index)))
	}
	return out, nil
}

// pageSize and observePage share the window size between fetch goroutines.
func (s *rfc6962Source) pageSize() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.page
}

// observePage lowers the window to a page size the log has shown it caps at,
// so later windows are not all short.
func (s *rfc6962Source) observePage(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 && n < s.page {
		s.page = n
	}
}

// EntryLink is the cert_link of an RFC 6962 entry: the log URL joined with
// exactly one "/" to ct/v1/get-entries?start=I&end=I.
func EntryLink(logURL string, index uint64) string {
	i := strconv.FormatUint(index, 10)
	return strings.TrimRight(logURL, "/") + "/ct/v1/get-entries?start=" + i + "&end=" + i
}
