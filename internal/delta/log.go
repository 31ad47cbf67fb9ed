package delta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
)

// The Delta log actions this writer reads and writes. Unknown actions and
// fields are ignored when reading, as the protocol requires.

type protocolAction struct {
	MinReaderVersion int      `json:"minReaderVersion"`
	MinWriterVersion int      `json:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty"`
	WriterFeatures   []string `json:"writerFeatures,omitempty"`
}

type formatSpec struct {
	Provider string    `json:"provider"`
	Options  stringMap `json:"options"`
}

type metadataAction struct {
	ID               string     `json:"id"`
	Format           formatSpec `json:"format"`
	SchemaString     string     `json:"schemaString"`
	PartitionColumns []string   `json:"partitionColumns"`
	Configuration    stringMap  `json:"configuration"`
	CreatedTime      int64      `json:"createdTime,omitempty"`
}

type txnAction struct {
	AppID       string `json:"appId"`
	Version     int64  `json:"version"`
	LastUpdated int64  `json:"lastUpdated,omitempty"`
}

type addAction struct {
	Path             string    `json:"path"`
	PartitionValues  stringMap `json:"partitionValues"`
	Size             int64     `json:"size"`
	ModificationTime int64     `json:"modificationTime"`
	DataChange       bool      `json:"dataChange"`
	Stats            string    `json:"stats,omitempty"`
}

type removeAction struct {
	Path string `json:"path"`
}

type commitInfoAction struct {
	Timestamp           int64             `json:"timestamp"`
	Operation           string            `json:"operation"`
	OperationParameters map[string]string `json:"operationParameters"`
	OperationMetrics    map[string]string `json:"operationMetrics,omitempty"`
	IsBlindAppend       bool              `json:"isBlindAppend"`
	EngineInfo          string            `json:"engineInfo,omitempty"`
	TxnID               string            `json:"txnId,omitempty"`
}

// action is one line of a commit file (or one row of a checkpoint): exactly
// one field is set.
type action struct {
	CommitInfo *commitInfoAction `json:"commitInfo,omitempty"`
	Protocol   *protocolAction   `json:"protocol,omitempty"`
	MetaData   *metadataAction   `json:"metaData,omitempty"`
	Txn        *txnAction        `json:"txn,omitempty"`
	Add        *addAction        `json:"add,omitempty"`
	Remove     *removeAction     `json:"remove,omitempty"`
}

// stringMap is a Delta map<string,string>. In JSON commits it is an object;
// a checkpoint read back through Arrow gives a list of {"key","value"}
// pairs, so both forms are accepted.
type stringMap map[string]string

// UnmarshalJSON accepts an object, a list of key/value pairs, or null.
func (m *stringMap) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var pairs []struct {
			Key   string  `json:"key"`
			Value *string `json:"value"`
		}
		if err := json.Unmarshal(b, &pairs); err != nil {
			return err
		}
		*m = make(stringMap, len(pairs))
		for _, p := range pairs {
			if p.Value != nil {
				(*m)[p.Key] = *p.Value
			}
		}
		return nil
	}
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil {
		return err
	}
	*m = plain
	return nil
}

// logDir is the log directory, relative to the table root.
const logDir = "_delta_log"

// commitName is the log file of a version.
func commitName(version int64) string { return fmt.Sprintf("%s/%020d.json", logDir, version) }

// checkpointName is the single-file checkpoint of a version.
func checkpointName(version int64) string {
	return fmt.Sprintf("%s/%020d.checkpoint.parquet", logDir, version)
}

var (
	commitFile     = regexp.MustCompile(`^(\d{20})\.json$`)
	checkpointFile = regexp.MustCompile(`^(\d{20})\.checkpoint\.parquet$`)
)

// logListing is what the log directory holds: commit versions and
// single-file checkpoint versions (other files are ignored).
type logListing struct {
	commits     []int64 // ascending
	checkpoints []int64 // ascending
}

// listLog lists the log directory; a missing directory is an empty log.
func listLog(fsys FS) (logListing, error) {
	var l logListing
	names, err := fsys.ReadDir(logDir)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	for _, name := range names {
		if m := commitFile.FindStringSubmatch(name); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			l.commits = append(l.commits, v)
		} else if m := checkpointFile.FindStringSubmatch(name); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			l.checkpoints = append(l.checkpoints, v)
		}
	}
	// ReadDir order is not guaranteed by every FS.
	slices.Sort(l.commits)
	slices.Sort(l.checkpoints)
	return l, nil
}

// parseCommit parses a commit file; the error names the line.
func parseCommit(data []byte) ([]action, error) {
	var actions []action
	for n, line := range bytes.Split(data, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var a action
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		actions = append(actions, a)
	}
	if len(actions) == 0 {
		return nil, errors.New("no actions")
	}
	return actions, nil
}

// encodeCommit encodes actions as a commit file: one JSON line each.
func encodeCommit(actions []action) ([]byte, error) {
	var buf []byte
	for _, a := range actions {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encoding a log action: %w", err)
		}
		buf = append(append(buf, b...), '\n')
	}
	return buf, nil
}
