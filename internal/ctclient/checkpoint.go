package ctclient

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Checkpoint is the tree head of a static-ct log, read from its signed note.
type Checkpoint struct {
	Origin    string
	TreeSize  uint64
	RootHash  [32]byte
	Timestamp uint64 // Unix milliseconds, from the origin's signature line (0 if there is none)
}

// noteSig is one signature line of a signed note.
type noteSig struct {
	name string
	blob []byte // keyID[4] ‖ signature
}

// sigLinePrefix starts every signature line: an em dash and a space.
const sigLinePrefix = "\u2014 "

// parseNote splits a signed note into its text lines and its well-formed
// signature lines. Malformed signature lines are skipped: only a line that
// verifies matters.
func parseNote(note []byte) (text []string, sigs []noteSig, err error) {
	s := string(note)
	split := strings.LastIndex(s, "\n\n")
	if split < 0 {
		return nil, nil, errors.New("signed note has no blank line before its signatures")
	}
	text = strings.Split(s[:split], "\n")
	for line := range strings.SplitSeq(strings.TrimSuffix(s[split+2:], "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, sigLinePrefix)
		if !ok {
			continue
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || name == "" {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(blob) < 4 {
			continue
		}
		sigs = append(sigs, noteSig{name: name, blob: blob})
	}
	return text, sigs, nil
}

// parseCheckpointText reads the checkpoint body: origin, tree size, base64
// root hash, then optional extension lines, which are ignored.
func parseCheckpointText(text []string) (Checkpoint, error) {
	if len(text) < 3 {
		return Checkpoint{}, fmt.Errorf("checkpoint has %d lines before the signatures, want at least 3", len(text))
	}
	var cp Checkpoint
	cp.Origin = text[0]
	if cp.Origin == "" {
		return Checkpoint{}, errors.New("checkpoint line 1: empty origin")
	}
	size, err := strconv.ParseUint(text[1], 10, 64)
	if err != nil || (len(text[1]) > 1 && text[1][0] == '0') {
		return Checkpoint{}, fmt.Errorf("checkpoint line 2 (%d bytes): not a decimal tree size", len(text[1]))
	}
	cp.TreeSize = size
	root, err := base64.StdEncoding.DecodeString(text[2])
	if err != nil || len(root) != 32 {
		return Checkpoint{}, fmt.Errorf("checkpoint line 3 (%d bytes): not a root hash of 32 bytes in base64", len(text[2]))
	}
	copy(cp.RootHash[:], root)
	return cp, nil
}

// noteKeyID returns the signed-note key ID of an RFC 6962 log key under
// origin: SHA-256(origin ‖ 0x0A ‖ 0x05 ‖ SHA-256(SPKI DER))[:4].
func noteKeyID(origin string, spki []byte) []byte {
	logID := sha256.Sum256(spki)
	h := sha256.New()
	h.Write([]byte(origin))
	h.Write([]byte{0x0A, 0x05})
	h.Write(logID[:])
	return h.Sum(nil)[:4]
}

// decodeCheckpoint parses a checkpoint note. When origin is not empty the
// note's origin must equal it. When pub is set, the note must carry a
// signature line named after the origin, with pub's key ID, whose
// timestamped RFC 6962 tree head signature verifies; a *sigError says why
// not. Without pub the timestamp is read, unverified, from the first line
// named after the origin.
func decodeCheckpoint(note []byte, origin string, pub crypto.PublicKey) (Checkpoint, error) {
	text, sigs, err := parseNote(note)
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := parseCheckpointText(text)
	if err != nil {
		return Checkpoint{}, err
	}
	if origin != "" && cp.Origin != origin {
		err := fmt.Errorf("checkpoint origin of %d bytes is not %q", len(cp.Origin), origin)
		if pub != nil {
			// Then the note has no line the configured key can verify.
			return Checkpoint{}, &sigError{err}
		}
		return Checkpoint{}, err
	}
	if pub == nil {
		for _, s := range sigs {
			if s.name == cp.Origin && len(s.blob) >= 12 {
				cp.Timestamp = binary.BigEndian.Uint64(s.blob[4:12])
				break
			}
		}
		return cp, nil
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return Checkpoint{}, &sigError{fmt.Errorf("public key: %w", err)}
	}
	keyID := noteKeyID(cp.Origin, spki)
	var last error = fmt.Errorf("no signature line for the checkpoint's origin with key ID %x", keyID)
	for _, s := range sigs {
		if s.name != cp.Origin || !bytes.Equal(s.blob[:4], keyID) {
			continue
		}
		if len(s.blob) < 12 {
			last = fmt.Errorf("signature of %d bytes has no timestamp", len(s.blob))
			continue
		}
		ts := binary.BigEndian.Uint64(s.blob[4:12])
		if err := verifyTreeHead(pub, ts, cp.TreeSize, cp.RootHash, s.blob[12:]); err != nil {
			last = fmt.Errorf("tree head of size %d: %w", cp.TreeSize, err)
			continue
		}
		cp.Timestamp = ts
		return cp, nil
	}
	return Checkpoint{}, &sigError{last}
}

// sigError marks a checkpoint that parsed but whose signature is missing or
// bad.
type sigError struct{ err error }

func (e *sigError) Error() string { return e.err.Error() }
func (e *sigError) Unwrap() error { return e.err }
