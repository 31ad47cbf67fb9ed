package ctclient

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// RFC6962 is a client of one RFC 6962 log. Its fields are read-only once in
// use; it is safe for concurrent use.
type RFC6962 struct {
	BaseURL   string           // the log URL from the log list, e.g. "https://ct.example/logs/2026h1/"
	HTTP      *http.Client     // shared with the operator's other logs; nil means http.DefaultClient
	UserAgent string           // sent with every request when not empty
	PublicKey crypto.PublicKey // when set, GetSTH verifies tree_head_signature
}

// STH is a signed tree head of an RFC 6962 log.
type STH struct {
	TreeSize  uint64
	Timestamp uint64 // Unix milliseconds
	RootHash  [32]byte
}

// RawEntry is one entry of a get-entries answer, base64-decoded.
type RawEntry struct {
	LeafInput []byte // a MerkleTreeLeaf
	ExtraData []byte // the chain (and pre-certificate for precert entries)
}

// sthJSON is the get-sth answer.
type sthJSON struct {
	TreeSize          *uint64 `json:"tree_size"`
	Timestamp         *uint64 `json:"timestamp"`
	SHA256RootHash    []byte  `json:"sha256_root_hash"`
	TreeHeadSignature []byte  `json:"tree_head_signature"`
}

// entriesJSON is the get-entries answer.
type entriesJSON struct {
	Entries []struct {
		LeafInput []byte `json:"leaf_input"`
		ExtraData []byte `json:"extra_data"`
	} `json:"entries"`
}

// GetSTH fetches the log's signed tree head and, when PublicKey is set,
// verifies its signature (failure: Kind BadSignature).
func (c *RFC6962) GetSTH(ctx context.Context) (STH, error) {
	ep := c.endpoint("get-sth", "ct/v1/get-sth", maxSTHBody)
	body, err := ep.get(ctx)
	if err != nil {
		return STH{}, err
	}
	sth, sig, err := decodeSTH(body)
	if err != nil {
		return STH{}, ep.fail(Decode, err)
	}
	if c.PublicKey != nil {
		if err := verifyTreeHead(c.PublicKey, sth.Timestamp, sth.TreeSize, sth.RootHash, sig); err != nil {
			return STH{}, ep.fail(BadSignature, fmt.Errorf("tree head of size %d: %w", sth.TreeSize, err))
		}
	}
	return sth, nil
}

// GetEntries fetches entries start..end (inclusive). The log may return
// fewer entries than asked, starting at start; they are returned as they
// came, and the caller advances by len(result). More entries than asked is
// a Decode error.
func (c *RFC6962) GetEntries(ctx context.Context, start, end uint64) ([]RawEntry, error) {
	ep := c.endpoint("get-entries", fmt.Sprintf("ct/v1/get-entries?start=%d&end=%d", start, end), entriesLimit(end-start+1))
	if start > end {
		return nil, ep.fail(BadRequest, fmt.Errorf("start %d is after end %d", start, end))
	}
	body, err := ep.get(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := decodeEntries(body, start, end)
	if err != nil {
		return nil, ep.fail(Decode, err)
	}
	return entries, nil
}

// endpoint describes one request to the log.
func (c *RFC6962) endpoint(op, path string, limit int64) endpoint {
	return endpoint{hc: c.HTTP, userAgent: c.UserAgent, op: op, url: joinURL(c.BaseURL, path), limit: limit}
}

// decodeSTH parses a get-sth body and returns the tree head and its
// undecoded DigitallySigned signature.
func decodeSTH(body []byte) (STH, []byte, error) {
	var j sthJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return STH{}, nil, fmt.Errorf("get-sth JSON: %w", err)
	}
	switch {
	case j.TreeSize == nil:
		return STH{}, nil, errors.New("get-sth JSON: no tree_size")
	case j.Timestamp == nil:
		return STH{}, nil, errors.New("get-sth JSON: no timestamp")
	case len(j.SHA256RootHash) != 32:
		return STH{}, nil, fmt.Errorf("get-sth JSON: sha256_root_hash has %d bytes, want 32", len(j.SHA256RootHash))
	}
	sth := STH{TreeSize: *j.TreeSize, Timestamp: *j.Timestamp}
	copy(sth.RootHash[:], j.SHA256RootHash)
	return sth, j.TreeHeadSignature, nil
}

// decodeEntries parses a get-entries body answering start..end.
func decodeEntries(body []byte, start, end uint64) ([]RawEntry, error) {
	var j entriesJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("get-entries JSON: %w", err)
	}
	if j.Entries == nil {
		return nil, errors.New("get-entries JSON: no entries array")
	}
	if want := end - start + 1; want != 0 && uint64(len(j.Entries)) > want {
		return nil, fmt.Errorf("get-entries returned %d entries, more than the %d asked", len(j.Entries), want)
	}
	out := make([]RawEntry, len(j.Entries))
	for i, e := range j.Entries {
		if len(e.LeafInput) == 0 {
			return nil, fmt.Errorf("get-entries entry %d (index %d): empty leaf_input", i, start+uint64(i))
		}
		out[i] = RawEntry{LeafInput: e.LeafInput, ExtraData: e.ExtraData}
	}
	return out, nil
}
