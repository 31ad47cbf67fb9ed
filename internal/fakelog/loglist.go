package fakelog

import (
	"encoding/json"
	"fmt"
	"time"
)

// Log list JSON, in the shape of Google's log list v3.
type (
	logListJSON struct {
		Version          string         `json:"version"`
		LogListTimestamp string         `json:"log_list_timestamp"`
		Operators        []operatorJSON `json:"operators"`
	}
	operatorJSON struct {
		Name      string          `json:"name"`
		Email     []string        `json:"email"`
		Logs      []listedLogJSON `json:"logs"`
		TiledLogs []listedLogJSON `json:"tiled_logs"`
	}
	listedLogJSON struct {
		Description      string       `json:"description"`
		LogID            []byte       `json:"log_id"`
		Key              []byte       `json:"key"`
		URL              string       `json:"url,omitempty"`
		SubmissionURL    string       `json:"submission_url,omitempty"`
		MonitoringURL    string       `json:"monitoring_url,omitempty"`
		MMD              int          `json:"mmd"`
		State            stateJSON    `json:"state"`
		TemporalInterval intervalJSON `json:"temporal_interval"`
	}
	stateJSON struct {
		Usable struct {
			Timestamp string `json:"timestamp"`
		} `json:"usable"`
	}
	intervalJSON struct {
		StartInclusive string `json:"start_inclusive"`
		EndExclusive   string `json:"end_exclusive"`
	}
)

// LogList returns a log list (Google v3 shape) describing every generated
// log and every fixture directory that has a public key, all "usable".
// RFC 6962 logs are under operators[].logs[] with `url`, static-ct logs
// under operators[].tiled_logs[] with `submission_url` and `monitoring_url`.
func (s *Server) LogList() ([]byte, error) {
	stamp := s.started.Format(time.RFC3339)
	interval := intervalJSON{
		StartInclusive: s.started.AddDate(0, -6, 0).Format(time.RFC3339),
		EndExclusive:   s.started.AddDate(0, 6, 0).Format(time.RFC3339),
	}
	list := logListJSON{Version: "fakelog", LogListTimestamp: stamp, Operators: []operatorJSON{}}
	operator := func(name string) *operatorJSON {
		for i := range list.Operators {
			if list.Operators[i].Name == name {
				return &list.Operators[i]
			}
		}
		list.Operators = append(list.Operators, operatorJSON{
			Name: name, Email: []string{"ct@fakelog.test"}, Logs: []listedLogJSON{}, TiledLogs: []listedLogJSON{},
		})
		return &list.Operators[len(list.Operators)-1]
	}
	entry := func(desc string, logID [32]byte, key []byte, mmd int) listedLogJSON {
		e := listedLogJSON{Description: desc, LogID: logID[:], Key: key, MMD: mmd, TemporalInterval: interval}
		e.State.Usable.Timestamp = stamp
		return e
	}
	for _, l := range s.Logs() {
		e := entry(l.description, l.logID, l.spki, l.mmd)
		op := operator(l.operator)
		if l.kind == StaticCT {
			e.SubmissionURL, e.MonitoringURL = l.url, l.url
			op.TiledLogs = append(op.TiledLogs, e)
		} else {
			e.URL = l.url
			op.Logs = append(op.Logs, e)
		}
	}
	for _, d := range s.StaticDirs() {
		if d.spki == nil {
			continue
		}
		e := entry(d.description, d.LogID(), d.spki, d.mmd)
		e.SubmissionURL, e.MonitoringURL = d.url, d.url
		op := operator(d.operator)
		op.TiledLogs = append(op.TiledLogs, e)
	}
	body, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fakelog: log list: %w", err)
	}
	return body, nil
}
