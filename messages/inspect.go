package messages

import "time"

// Inspect asks an actor to describe itself and its children; it answers
// with an ActorInfo. Because an actor handles its inbox in order, the answer
// also proves it has handled everything sent to it before the request.
type Inspect struct{}

// ActorInfo describes one live actor for the admin view.
type ActorInfo struct {
	PID             string         `json:"pid"`
	Kind            string         `json:"kind"`
	Parent          string         `json:"parent,omitempty"`
	Status          string         `json:"status"`
	Started         time.Time      `json:"started"`
	Restarts        int            `json:"restarts"`
	MailboxDepth    int            `json:"mailbox_depth"`
	MailboxCapacity int            `json:"mailbox_capacity"`
	Drops           uint64         `json:"drops"`
	Details         map[string]any `json:"details,omitempty"`
	Children        []ActorInfo    `json:"children,omitempty"`
}

// ConnStats is one subscriber's delivery accounting, as the router sees it:
// Pushed = Delivered + Dropped + Queued + InFlight (certificates its
// filter kept back are not pushed). The router's ActorInfo
// carries it as Details["conn"] of each connection child, and as
// Details["closed"] ([]ConnStats) for the subscribers that left last.
type ConnStats struct {
	ID        string    `json:"id"`
	Stream    string    `json:"stream"`
	Transport string    `json:"transport"`
	Remote    string    `json:"remote"`
	Pushed    uint64    `json:"pushed"`
	Delivered uint64    `json:"delivered"`
	Dropped   uint64    `json:"dropped"`
	Queued    int       `json:"queued"`
	InFlight  int       `json:"in_flight"`
	Restarts  int       `json:"restarts"`
	Since     time.Time `json:"since"`
	// Filter is the connection's filter in canonical query form ("" for
	// none), and FilteredOut the certificates it kept from the client.
	Filter      string `json:"filter,omitempty"`
	FilteredOut uint64 `json:"filtered_out,omitempty"`
}
