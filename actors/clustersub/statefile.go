package clustersub

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// state is the consumer's file.
type state struct {
	Stream  string `json:"stream"`
	LastSeq uint64 `json:"last_seq"`
	// Created is the stream's creation time: a stream created again is
	// another stream, whose numbers start again. Absent from older files.
	Created time.Time `json:"created,omitzero"`
}

// loadState returns what was saved for stream; the zero state when there is
// no file or it is another stream's.
func loadState(path, stream string) (state, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return state{}, nil
	}
	if err != nil {
		return state{}, err
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return state{}, fmt.Errorf("cluster consumer state %s: %w (move the file aside to start at the stream's newest)", path, err)
	}
	if s.Stream != stream {
		return state{}, nil
	}
	return s, nil
}

// saveState writes the file atomically.
func saveState(path string, s state) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// nanos is t in Unix nanoseconds; 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
