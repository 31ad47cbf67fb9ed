package follow

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/certstream/certstream/internal/ctclient"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/wire"
)

// errEmptyPage is a get-entries answer with no entries for a range inside
// the tree: retried like any other failure.
var errEmptyPage = errors.New("log returned no entries for a range inside its tree")

// rfc6962Source fetches with get-sth and get-entries.
type rfc6962Source struct {
	f     *Follower
	c     *ctclient.RFC6962
	pages *pager // windows sized to the log's pages
}

func (s *rfc6962Source) head(ctx context.Context) (uint64, uint64, error) {
	sth, err := s.c.GetSTH(ctx)
	return sth.TreeSize, sth.Timestamp, err
}

func (s *rfc6962Source) window(start, size uint64) uint64 {
	return s.pages.window(start, size)
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
	s.pages.observe(start, end-start, uint64(len(raw)))
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

// EntryLink is the cert_link of an RFC 6962 entry: the log URL joined with
// exactly one "/" to ct/v1/get-entries?start=I&end=I.
func EntryLink(logURL string, index uint64) string {
	i := strconv.FormatUint(index, 10)
	return strings.TrimRight(logURL, "/") + "/ct/v1/get-entries?start=" + i + "&end=" + i
}
