package follow

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/certstream/certstream/internal/ctclient"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/wire"
)

// staticSource fetches a tiled (static-ct-api) log: checkpoint, data tiles
// (the partial one only at the head) and issuers through the shared cache.
type staticSource struct {
	f *Follower
	c *ctclient.StaticCT

	mu      sync.Mutex
	missing map[[32]byte]time.Time // issuers the log answered 404 for, and when
}

// missingRetry is how long an issuer the log does not serve is not asked for again.
const missingRetry = 10 * time.Minute

const tileWidth = ctdecode.TileWidth

func (s *staticSource) head(ctx context.Context) (uint64, uint64, error) {
	cp, err := s.c.GetCheckpoint(ctx)
	return cp.TreeSize, cp.Timestamp, err
}

// window ends at the end of start's tile, or at the head inside it.
func (s *staticSource) window(start, size uint64) uint64 {
	return min((start/tileWidth+1)*tileWidth, size)
}

func (s *staticSource) fetch(ctx context.Context, start, end, size uint64) (fetched, error) {
	n := start / tileWidth
	first := n * tileWidth
	leaves, err := s.tile(ctx, n, int(min(size-first, tileWidth)))
	if err != nil {
		return fetched{}, err
	}
	link := joinURL(s.c.MonitoringURL, ctdecode.DataTilePath(n, tileWidth))
	out := fetched{ups: make([]*wire.Update, 0, end-start), n: end - start}
	for _, tl := range leaves[start-first : end-first] {
		chain, err := s.chain(ctx, tl.Chain)
		if err != nil {
			return fetched{}, err
		}
		e, err := ctdecode.EntryFromTileLeaf(tl, chain)
		if err != nil {
			out.bad = append(out.bad, badLeaf{tl.LeafIndex, err})
			continue
		}
		out.ups = append(out.ups, s.f.update(e, link))
	}
	return out, nil
}

// tile fetches and parses data tile n holding at least width leaves. A
// partial tile that is gone (logs delete partials once the full tile exists)
// falls back to the full tile. A body that does not parse counts as a
// decode error of its request and is retried like any failure.
func (s *staticSource) tile(ctx context.Context, n uint64, width int) ([]ctdecode.TileLeaf, error) {
	var leaves []ctdecode.TileLeaf
	get := func(w int) error {
		return s.f.request(ctx, func() error {
			data, err := s.c.GetDataTile(ctx, n, w)
			if err != nil {
				return err
			}
			if leaves, err = ctdecode.ParseDataTile(data, n*tileWidth, w); err != nil {
				return &ctclient.Error{Op: "data-tile", URL: joinURL(s.c.MonitoringURL, ctdecode.DataTilePath(n, w)),
					Kind: ctclient.Decode, Err: err}
			}
			return nil
		})
	}
	err := get(width)
	if k, _ := ctclient.KindOf(err); k == ctclient.NotFound && width < tileWidth {
		err = get(tileWidth)
	}
	return leaves, err
}

// chain resolves issuer fingerprints to parsed certificates through the
// shared issuer cache. An issuer the log does not have (404) leaves the
// chain out, counted; any other failure is returned so the tile is retried.
func (s *staticSource) chain(ctx context.Context, fps [][32]byte) ([]*wire.Cert, error) {
	if len(fps) == 0 {
		return nil, nil
	}
	chain := make([]*wire.Cert, len(fps))
	for i, fp := range fps {
		if s.knownMissing(fp) {
			s.f.m.missingIssuers.Inc()
			return nil, nil
		}
		der, err := s.f.deps.Issuers.Get(ctx, fp, func(ctx context.Context) (der []byte, err error) {
			err = s.f.request(ctx, func() (err error) {
				der, err = s.c.GetIssuer(ctx, fp)
				return err
			})
			return der, err
		})
		if k, _ := ctclient.KindOf(err); k == ctclient.NotFound {
			s.missingIssuer(fp)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if chain[i], err = s.f.deps.Chains.Parse(der); err != nil {
			return nil, &ctclient.Error{Op: "issuer", URL: s.c.MonitoringURL, Kind: ctclient.Decode, Err: err}
		}
	}
	return chain, nil
}

// knownMissing reports whether the log recently answered 404 for fp.
func (s *staticSource) knownMissing(fp [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.missing[fp]
	return ok && s.f.deps.Now().Sub(at) < missingRetry
}

// missingIssuer counts an issuer the log does not serve, remembers it, and
// logs it the first time.
func (s *staticSource) missingIssuer(fp [32]byte) {
	s.f.m.missingIssuers.Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing == nil {
		s.missing = map[[32]byte]time.Time{}
	}
	if _, seen := s.missing[fp]; !seen {
		s.f.logger.Warn("log does not serve an issuer; entries are sent without their chain", "issuer", hex.EncodeToString(fp[:]))
	}
	s.missing[fp] = s.f.deps.Now()
}

// joinURL joins base and path with exactly one "/".
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}
