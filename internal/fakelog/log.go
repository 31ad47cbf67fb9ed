package fakelog

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Kind is the protocol a log speaks.
type Kind int

// Log kinds.
const (
	RFC6962  Kind = iota // RFC 6962 get-sth / get-entries
	StaticCT             // C2SP static-ct-api checkpoint and tiles
)

// String returns "rfc6962" or "static-ct".
func (k Kind) String() string {
	switch k {
	case RFC6962:
		return "rfc6962"
	case StaticCT:
		return "static-ct"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// LogConfig describes a generated log.
type LogConfig struct {
	// Name is the log's path segment under /logs/ (letters, digits, '.', '_', '-').
	Name string
	// Kind is the protocol.
	Kind Kind
	// Description defaults to "Fakelog '<Name>'".
	Description string
	// Operator groups logs in the log list (default "Fakelog").
	Operator string
	// Origin is the static-ct origin and key name (default
	// "127.0.0.1:<port>/logs/<Name>", the URL without scheme and slash).
	Origin string
	// PrecertFraction is the share of entries that are precertificates (0..1).
	PrecertFraction float64
	// MMD is the log list's maximum merge delay in seconds (default 86400
	// for RFC 6962, 60 for static-ct).
	MMD int
	// Faults are the initial fault settings.
	Faults Faults
	// Retain, when positive, bounds the entry bodies (certificates and the
	// rest of their leaves) the log keeps to about the last Retain entries:
	// once it holds more than 2×Retain, an Append forgets the oldest so that
	// Retain remain. The Merkle tree's hashes are all kept, so tree heads,
	// checkpoints and hash tiles stay complete and correct. Forgotten entries
	// are gone: Entry, RawEntry and TileLeaf report them unpublished,
	// get-entries starting below the oldest kept entry answers 400 ("entries
	// below N are no longer retained by this fake log") and a data tile
	// holding one answers 404. 0 keeps every entry; negative is an error.
	Retain int
}

// Log is a generated CT log: real certificates, real Merkle tree, signed by
// its own ECDSA P-256 key. Its methods are safe for concurrent use.
type Log struct {
	*Knobs

	name, description, operator, origin, url string
	kind                                     Kind
	mmd                                      int
	precertFraction                          float64
	retain                                   int
	key                                      *ecdsa.PrivateKey
	spki                                     []byte
	logID                                    [32]byte
	ca                                       *CA
	witness                                  *witness

	appendMu sync.Mutex // serializes Append; the appender alone writes the slices

	mu         sync.RWMutex // guards the published state below
	floor      int64        // index of entries[0]: the entries before it are forgotten (Retain)
	entries    []entry      // the kept entries, floor onwards
	hashes     hashSlice
	head       TreeHead
	checkpoint string
}

// minPerWorker is the smallest batch worth a goroutine when issuing certificates.
const minPerWorker = 16

// newLog validates cfg and creates an empty log served at url.
func newLog(cfg LogConfig, url, defaultOrigin string, ca *CA, w *witness) (*Log, error) {
	if cfg.Kind != RFC6962 && cfg.Kind != StaticCT {
		return nil, fmt.Errorf("fakelog: log %q: unknown kind %d", cfg.Name, cfg.Kind)
	}
	if cfg.PrecertFraction < 0 || cfg.PrecertFraction > 1 {
		return nil, fmt.Errorf("fakelog: log %q: PrecertFraction %v outside [0, 1]", cfg.Name, cfg.PrecertFraction)
	}
	if cfg.MMD < 0 {
		return nil, fmt.Errorf("fakelog: log %q: negative MMD %d", cfg.Name, cfg.MMD)
	}
	if cfg.Retain < 0 {
		return nil, fmt.Errorf("fakelog: log %q: negative Retain %d", cfg.Name, cfg.Retain)
	}
	origin := cmpOr(cfg.Origin, defaultOrigin)
	if strings.ContainsAny(origin, " \t\n+") {
		return nil, fmt.Errorf("fakelog: log %q: origin %q is not a valid note key name (no spaces or '+')", cfg.Name, origin)
	}
	knobs, err := newKnobs(cfg.Faults)
	if err != nil {
		return nil, fmt.Errorf("fakelog: log %q: %w", cfg.Name, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakelog: log %q key: %w", cfg.Name, err)
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("fakelog: log %q key: %w", cfg.Name, err)
	}
	l := &Log{
		Knobs:           knobs,
		name:            cfg.Name,
		description:     cmpOr(cfg.Description, "Fakelog '"+cfg.Name+"'"),
		operator:        cmpOr(cfg.Operator, defaultOperator),
		origin:          origin,
		url:             url,
		kind:            cfg.Kind,
		mmd:             cfg.MMD,
		precertFraction: cfg.PrecertFraction,
		retain:          cfg.Retain,
		key:             key,
		spki:            spki,
		logID:           sha256.Sum256(spki),
		ca:              ca,
		witness:         w,
	}
	if l.mmd == 0 {
		l.mmd = map[Kind]int{RFC6962: 86400, StaticCT: 60}[cfg.Kind]
	}
	if err := l.publish(nil, nil, time.Now().UnixMilli()); err != nil {
		return nil, err
	}
	return l, nil
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Name returns the log's path segment.
func (l *Log) Name() string { return l.name }

// Kind returns the log's protocol.
func (l *Log) Kind() Kind { return l.kind }

// Description returns the log list description.
func (l *Log) Description() string { return l.description }

// Operator returns the log list operator name.
func (l *Log) Operator() string { return l.operator }

// URL returns the RFC 6962 log URL or the static-ct monitoring prefix, with
// a trailing slash.
func (l *Log) URL() string { return l.url }

// Origin returns the static-ct checkpoint origin, which is also its key name.
func (l *Log) Origin() string { return l.origin }

// MMD returns the maximum merge delay in seconds announced in the log list.
func (l *Log) MMD() int { return l.mmd }

// PublicKey returns the log's public key.
func (l *Log) PublicKey() *ecdsa.PublicKey { return &l.key.PublicKey }

// PublicKeyDER returns the log's SubjectPublicKeyInfo DER.
func (l *Log) PublicKeyDER() []byte { return bytes.Clone(l.spki) }

// PublicKeyBase64 returns the standard base64 of the SPKI, the log list `key`.
func (l *Log) PublicKeyBase64() string { return base64.StdEncoding.EncodeToString(l.spki) }

// LogID returns SHA-256 of the SPKI.
func (l *Log) LogID() [32]byte { return l.logID }

// snapshot is a consistent view of the published state.
type snapshot struct {
	floor      int64   // index of entries[0]
	entries    []entry // the kept entries
	hashes     hashSlice
	head       TreeHead
	checkpoint string
}

// snapshot returns the published state.
func (l *Log) snapshot() snapshot {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return snapshot{floor: l.floor, entries: l.entries, hashes: l.hashes, head: l.head, checkpoint: l.checkpoint}
}

// size is the published tree size.
func (s *snapshot) size() int64 { return s.floor + int64(len(s.entries)) }

// entry returns entry i, or nil when it is not published or forgotten.
func (s *snapshot) entry(i int64) *entry {
	if i < s.floor || i >= s.size() {
		return nil
	}
	return &s.entries[i-s.floor]
}

// Size returns the published tree size.
func (l *Log) Size() int64 { return l.STH().Size }

// STH returns the current signed tree head.
func (l *Log) STH() TreeHead {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.head
}

// Checkpoint returns the current signed checkpoint (without cosignature);
// meaningful for static-ct logs.
func (l *Log) Checkpoint() string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.checkpoint
}

// servedHead returns the tree head and checkpoint to serve from s: the
// published ones, or with f.ShrinkBy those of a smaller tree, signed now.
func (l *Log) servedHead(s snapshot, f Faults) (TreeHead, string, error) {
	if f.ShrinkBy == 0 {
		return s.head, s.checkpoint, nil
	}
	size := max(s.head.Size-int64(f.ShrinkBy), 0)
	root, err := tlog.TreeHash(size, s.hashes)
	if err != nil {
		return TreeHead{}, "", fmt.Errorf("fakelog: log %q tree hash: %w", l.name, err)
	}
	head, err := signTreeHead(l.key, s.head.Timestamp, size, root)
	if err != nil {
		return TreeHead{}, "", err
	}
	return head, formatCheckpoint(l.origin, l.logID, head), nil
}

// Entry describes a published entry for test expectations.
type Entry struct {
	Index     int64
	Timestamp int64 // ms since the epoch at which the entry was published
	Precert   bool
	// Garbage marks a deliberately invalid leaf (GarbageLeafEvery).
	Garbage bool
	// Certificate is the leaf certificate DER, or the precertificate DER with
	// its poison extension, or the invalid bytes of a garbage entry.
	Certificate []byte
}

// Entry returns entry i, or false when i is not published (or no longer
// retained, see LogConfig.Retain).
func (l *Log) Entry(i int64) (Entry, bool) {
	s := l.snapshot()
	e := s.entry(i)
	if e == nil {
		return Entry{}, false
	}
	return Entry{Index: i, Timestamp: e.timestamp, Precert: e.precert, Garbage: e.garbage, Certificate: bytes.Clone(e.cert)}, true
}

// leafExtensions returns the CtExtensions of entry i: leaf_index for
// static-ct logs, none for RFC 6962 logs.
func (l *Log) leafExtensions(i int64) []byte {
	if l.kind == StaticCT {
		return leafIndexExtensions(i)
	}
	return nil
}

// RawEntry returns the get-entries leaf_input (MerkleTreeLeaf) and
// extra_data of entry i, or nils when i is not published (or no longer
// retained). For a static-ct log the leaf_input is its Merkle leaf, with
// the leaf_index extension.
func (l *Log) RawEntry(i int64) (leafInput, extraData []byte) {
	s := l.snapshot()
	e := s.entry(i)
	if e == nil {
		return nil, nil
	}
	return merkleTreeLeaf(e, &l.ca.IssuerKeyHash, l.leafExtensions(i)), extraDataOf(e, l.ca)
}

// TileLeaf returns the static-ct TileLeaf of entry i, or nil when i is not
// published (or no longer retained).
func (l *Log) TileLeaf(i int64) []byte {
	s := l.snapshot()
	e := s.entry(i)
	if e == nil {
		return nil
	}
	return appendTileLeaf(nil, e, i, l.ca)
}

// Append issues n new certificates and publishes them now: they all carry
// the current wall-clock time in ms, and the tree head is re-signed.
func (l *Log) Append(n int) error {
	if n < 0 {
		return fmt.Errorf("fakelog: log %q: Append(%d): negative count", l.name, n)
	}
	if n == 0 {
		return nil
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	start := l.floor + int64(len(l.entries)) // only this goroutine writes them
	fresh, err := l.issue(start, n, l.Faults().GarbageLeafEvery)
	if err != nil {
		return err
	}
	ts := max(time.Now().UnixMilli(), l.head.Timestamp)
	for i := range fresh {
		fresh[i].timestamp = ts
	}
	return l.publish(fresh, l.hashes, ts)
}

// issue creates entries start..start+n-1, in parallel for large batches.
func (l *Log) issue(start int64, n, garbageEvery int) ([]entry, error) {
	validity := encodeValidity(time.Now().Add(-time.Hour).Truncate(time.Second))
	out := make([]entry, n)
	workers := min(runtime.GOMAXPROCS(0), (n+minPerWorker-1)/minPerWorker)
	chunk := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * chunk; i < min(n, (w+1)*chunk); i++ {
				idx := start + int64(i)
				if garbageEvery > 0 && idx%int64(garbageEvery) == int64(garbageEvery-1) {
					out[i] = entry{cert: garbageCert(idx), garbage: true}
					continue
				}
				precert := mrand.Float64() < l.precertFraction
				c, err := l.ca.issue(l.ca.randomLeafSpec(precert, validity))
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = entry{cert: c.cert, tbs: c.tbs, precert: precert}
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// publish hashes fresh entries onto hashes, signs the new tree head at ts
// and makes it all visible, forgetting old entries beyond Retain. Called
// with appendMu held (or before sharing).
func (l *Log) publish(fresh []entry, hashes hashSlice, ts int64) error {
	start := l.floor + int64(len(l.entries))
	for i := range fresh {
		idx := start + int64(i)
		var err error
		hashes, err = hashes.appendLeaf(idx, merkleTreeLeaf(&fresh[i], &l.ca.IssuerKeyHash, l.leafExtensions(idx)))
		if err != nil {
			return err
		}
	}
	size := start + int64(len(fresh))
	root, err := tlog.TreeHash(size, hashes)
	if err != nil {
		return fmt.Errorf("fakelog: log %q tree hash: %w", l.name, err)
	}
	head, err := signTreeHead(l.key, ts, size, root)
	if err != nil {
		return err
	}
	entries, floor := l.retained(fresh)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.floor, l.entries, l.hashes, l.head = floor, entries, hashes, head
	if l.kind == StaticCT {
		l.checkpoint = formatCheckpoint(l.origin, l.logID, head)
	}
	return nil
}

// retained returns the kept entries with fresh appended, and the index of
// the first. Appending writes only past the length readers see, and
// forgetting copies the kept tail into a new array (with room to grow to
// 2×Retain), so readers holding an older snapshot never race with it and
// the forgotten bodies can be freed.
func (l *Log) retained(fresh []entry) ([]entry, int64) {
	n := len(l.entries) + len(fresh)
	if l.retain == 0 || n <= 2*l.retain {
		return append(l.entries, fresh...), l.floor
	}
	drop := n - l.retain
	kept := make([]entry, 0, 2*l.retain)
	kept = append(kept, l.entries[min(drop, len(l.entries)):]...)
	kept = append(kept, fresh[max(drop-len(l.entries), 0):]...)
	return kept, l.floor + int64(drop)
}
