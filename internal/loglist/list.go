// Package loglist reads Google's CT log list (v3): parsing, choosing the logs
// to follow, verifying the list's signature, fetching it, and an embedded
// snapshot to start from.
package loglist

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The kinds of log.
const (
	KindRFC6962  = "rfc6962"   // an RFC 6962 log ("logs" in the list)
	KindStaticCT = "static-ct" // a static-ct tiled log ("tiled_logs" in the list)
)

// Log is one CT log of the list.
type Log struct {
	ID            string // base64 log_id: SHA-256 of Key
	Description   string
	Operator      string
	Kind          string // KindRFC6962 or KindStaticCT
	URL           string // the RFC 6962 url, or the static-ct monitoring_url
	SubmissionURL string // the static-ct submission_url; the url for RFC 6962 logs
	Key           []byte // SubjectPublicKeyInfo DER
	State         string // usable, qualified, readonly, retired, rejected, pending...
	MMD           int    // maximum merge delay, seconds
}

// List is a parsed log list.
type List struct {
	Version   string
	Timestamp time.Time // log_list_timestamp
	Logs      []Log     // every log, in list order: per operator, logs then tiled_logs
}

// followedStates are the states of logs worth following.
var followedStates = map[string]bool{"usable": true, "qualified": true, "readonly": true}

// Followed returns the usable, qualified and readonly logs in list order,
// each log_id once (the first occurrence wins).
func (l *List) Followed() []Log {
	var out []Log
	seen := make(map[string]bool)
	for _, lg := range l.Logs {
		if followedStates[lg.State] && !seen[lg.ID] {
			seen[lg.ID] = true
			out = append(out, lg)
		}
	}
	return out
}

// jsonList is the v3 list as published.
type jsonList struct {
	Version   string    `json:"version"`
	Timestamp time.Time `json:"log_list_timestamp"`
	Operators []struct {
		Name      string    `json:"name"`
		Logs      []jsonLog `json:"logs"`
		TiledLogs []jsonLog `json:"tiled_logs"`
	} `json:"operators"`
}

// jsonLog is one entry of an operator's logs or tiled_logs.
type jsonLog struct {
	Description   string                     `json:"description"`
	LogID         string                     `json:"log_id"`
	Key           []byte                     `json:"key"`
	URL           string                     `json:"url"`
	SubmissionURL string                     `json:"submission_url"`
	MonitoringURL string                     `json:"monitoring_url"`
	MMD           int                        `json:"mmd"`
	State         map[string]json.RawMessage `json:"state"`
}

// Parse reads a v3 log list. Every log must have a log_id that is the
// SHA-256 of its key, a URL, and exactly one state.
func Parse(data []byte) (*List, error) {
	var j jsonList
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("loglist: %w", err)
	}
	if len(j.Operators) == 0 {
		return nil, errors.New("loglist: no operators")
	}
	l := &List{Version: j.Version, Timestamp: j.Timestamp}
	for oi, op := range j.Operators {
		for _, group := range []struct {
			kind, field string
			logs        []jsonLog
		}{{KindRFC6962, "logs", op.Logs}, {KindStaticCT, "tiled_logs", op.TiledLogs}} {
			for li, jl := range group.logs {
				lg, err := jl.toLog(op.Name, group.kind)
				if err != nil {
					return nil, fmt.Errorf("loglist: operator %d (%q) %s[%d] (%q): %w", oi, op.Name, group.field, li, jl.Description, err)
				}
				l.Logs = append(l.Logs, lg)
			}
		}
	}
	return l, nil
}

// toLog checks one list entry and converts it.
func (jl jsonLog) toLog(operator, kind string) (Log, error) {
	id, err := base64.StdEncoding.DecodeString(jl.LogID)
	if err != nil || len(id) != sha256.Size {
		return Log{}, fmt.Errorf("log_id %q is not 32 bytes of base64", jl.LogID)
	}
	if len(jl.Key) == 0 {
		return Log{}, errors.New("no key")
	}
	if sum := sha256.Sum256(jl.Key); !bytes.Equal(sum[:], id) {
		return Log{}, fmt.Errorf("log_id %s is not the SHA-256 of the key", jl.LogID)
	}
	if len(jl.State) != 1 {
		return Log{}, fmt.Errorf("state has %d keys, want 1", len(jl.State))
	}
	lg := Log{
		ID: jl.LogID, Description: jl.Description, Operator: operator, Kind: kind,
		Key: jl.Key, MMD: jl.MMD,
	}
	for s := range jl.State {
		lg.State = s
	}
	if kind == KindRFC6962 {
		lg.URL, lg.SubmissionURL = jl.URL, jl.URL
		if lg.URL == "" {
			return Log{}, errors.New("no url")
		}
	} else {
		lg.URL, lg.SubmissionURL = jl.MonitoringURL, jl.SubmissionURL
		if lg.URL == "" {
			return Log{}, errors.New("no monitoring_url")
		}
	}
	return lg, nil
}
