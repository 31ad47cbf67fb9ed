package fakelog

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// StaticDirConfig describes a static-ct fixture directory served as a log.
type StaticDirConfig struct {
	// Name is the log's path segment under /logs/.
	Name string
	// Dir holds the fixture: checkpoint files, tile/..., optionally issuer/...
	Dir string
	// Checkpoints are checkpoint file names in Dir, in growth order; the log
	// starts with the first and Grow moves to the next (default: "checkpoint").
	Checkpoints []string
	// PublicKeyPEM is the log's public key (PKIX PEM), for the log list; a
	// directory without a key is left out of the log list.
	PublicKeyPEM []byte
	// Description defaults to "Fakelog static '<Name>'".
	Description string
	// Operator groups logs in the log list (default "Fakelog").
	Operator string
	// MMD is the log list's maximum merge delay in seconds (default 60).
	MMD int
	// Faults are the initial fault settings (GarbageLeafEvery does not apply).
	Faults Faults
}

// NavigliConfig returns the configuration serving the shared navigli2025h2
// fixture below testdataDir (the shared testdata directory): it starts at
// checkpoint.778 and grows to checkpoint (1024 entries), with the test key.
func NavigliConfig(testdataDir string) (StaticDirConfig, error) {
	key, err := os.ReadFile(filepath.Join(testdataDir, "static-ct", "keys", "test-log-key.pub.pem"))
	if err != nil {
		return StaticDirConfig{}, fmt.Errorf("fakelog: navigli key: %w", err)
	}
	return StaticDirConfig{
		Name:         "navigli2025h2",
		Dir:          filepath.Join(testdataDir, "static-ct", "navigli2025h2"),
		Checkpoints:  []string{"checkpoint.778", "checkpoint"},
		PublicKeyPEM: key,
		Description:  "Navigli 2025h2 (resigned test fixture)",
	}, nil
}

// StaticDir is a static-ct log served from a fixture directory. Only tiles
// that exist at the current checkpoint's size are served. Its methods are
// safe for concurrent use.
type StaticDir struct {
	*Knobs

	name, dir, url, origin, description, operator string
	mmd                                           int
	spki                                          []byte // nil when no key was given
	checkpoints                                   []dirCheckpoint

	mu  sync.RWMutex
	cur int // index into checkpoints
}

// dirCheckpoint is one checkpoint file of a fixture.
type dirCheckpoint struct {
	body []byte
	size int64
}

// newStaticDir loads the checkpoints and key of cfg.
func newStaticDir(cfg StaticDirConfig, url string) (*StaticDir, error) {
	knobs, err := newKnobs(cfg.Faults)
	if err != nil {
		return nil, fmt.Errorf("fakelog: static dir %q: %w", cfg.Name, err)
	}
	d := &StaticDir{
		Knobs:       knobs,
		name:        cfg.Name,
		dir:         cfg.Dir,
		url:         url,
		description: cmpOr(cfg.Description, "Fakelog static '"+cfg.Name+"'"),
		operator:    cmpOr(cfg.Operator, defaultOperator),
		mmd:         cfg.MMD,
	}
	if d.mmd == 0 {
		d.mmd = 60
	}
	names := cfg.Checkpoints
	if len(names) == 0 {
		names = []string{pathCheckpoint}
	}
	for _, n := range names {
		path := filepath.Join(cfg.Dir, n)
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("fakelog: static dir %q: %w", cfg.Name, err)
		}
		origin, size, err := parseCheckpointHead(body)
		if err != nil {
			return nil, fmt.Errorf("fakelog: static dir %q: %s: %w", cfg.Name, path, err)
		}
		if d.origin == "" {
			d.origin = origin
		}
		if origin != d.origin {
			return nil, fmt.Errorf("fakelog: static dir %q: %s: origin %q differs from %q", cfg.Name, path, origin, d.origin)
		}
		if k := len(d.checkpoints); k > 0 && size < d.checkpoints[k-1].size {
			return nil, fmt.Errorf("fakelog: static dir %q: %s: size %d shrinks from %d", cfg.Name, path, size, d.checkpoints[k-1].size)
		}
		d.checkpoints = append(d.checkpoints, dirCheckpoint{body: body, size: size})
	}
	if len(cfg.PublicKeyPEM) > 0 {
		block, _ := pem.Decode(cfg.PublicKeyPEM)
		if block == nil {
			return nil, fmt.Errorf("fakelog: static dir %q: PublicKeyPEM holds no PEM block", cfg.Name)
		}
		if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
			return nil, fmt.Errorf("fakelog: static dir %q: public key: %w", cfg.Name, err)
		}
		d.spki = block.Bytes
	}
	return d, nil
}

// parseCheckpointHead reads the origin and tree size of a checkpoint.
func parseCheckpointHead(body []byte) (origin string, size int64, err error) {
	lines := strings.SplitN(string(body), "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return "", 0, errors.New("checkpoint: want origin, size and root hash lines")
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return "", 0, fmt.Errorf("checkpoint: line 2: bad tree size %q", lines[1])
	}
	if root, err := base64.StdEncoding.DecodeString(lines[2]); err != nil || len(root) != sha256.Size {
		return "", 0, fmt.Errorf("checkpoint: line 3: bad root hash %q", lines[2])
	}
	return lines[0], size, nil
}

// Name returns the log's path segment.
func (d *StaticDir) Name() string { return d.name }

// URL returns the monitoring prefix, with a trailing slash.
func (d *StaticDir) URL() string { return d.url }

// Origin returns the checkpoint origin (and key name).
func (d *StaticDir) Origin() string { return d.origin }

// Description returns the log list description.
func (d *StaticDir) Description() string { return d.description }

// PublicKeyDER returns the SPKI DER, or nil when no key was configured.
func (d *StaticDir) PublicKeyDER() []byte { return bytes.Clone(d.spki) }

// PublicKeyBase64 returns the standard base64 of the SPKI ("" without key).
func (d *StaticDir) PublicKeyBase64() string { return base64.StdEncoding.EncodeToString(d.spki) }

// LogID returns SHA-256 of the SPKI (zero without key).
func (d *StaticDir) LogID() [32]byte {
	if d.spki == nil {
		return [32]byte{}
	}
	return sha256.Sum256(d.spki)
}

// current returns the checkpoint being served.
func (d *StaticDir) current() dirCheckpoint {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.checkpoints[d.cur]
}

// Size returns the tree size of the checkpoint being served.
func (d *StaticDir) Size() int64 { return d.current().size }

// Checkpoint returns the checkpoint being served.
func (d *StaticDir) Checkpoint() string { return string(d.current().body) }

// Grow switches to the next checkpoint; it reports false when already at the last.
func (d *StaticDir) Grow() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur+1 >= len(d.checkpoints) {
		return false
	}
	d.cur++
	return true
}

// serve answers checkpoint, tiles and issuers from the directory.
func (d *StaticDir) serve(rest string) response {
	cp := d.current()
	var file string
	compressible := false
	switch classifyStaticCT(rest) {
	case EndpointCheckpoint:
		return response{status: http.StatusOK, contentType: textPlain, body: cp.body, mutable: true}
	case EndpointIssuer:
		fp, ok := parseIssuerPath(rest)
		if !ok {
			return notFound()
		}
		file = "issuer/" + fp
	case EndpointDataTile, EndpointHashTile, EndpointNamesTile:
		t, err := parseTilePath(rest)
		if err != nil || !tileAvailable(t, cp.size) {
			return notFound()
		}
		file = rest // canonical: parseTilePath accepts nothing else
		compressible = t.L < 0
	default:
		return notFound()
	}
	body, err := os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(file)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound()
	case err != nil:
		return response{status: http.StatusInternalServerError, contentType: textPlain, body: []byte(err.Error())}
	}
	ct := octetStream
	if strings.HasPrefix(file, prefixIssuer) {
		ct = "application/pkix-cert"
	}
	return response{status: http.StatusOK, contentType: ct, body: body, compressible: compressible}
}
