package node

import (
	"reflect"
	"testing"

	"github.com/certstream/certstream/config"
)

// The settings reported as needing a restart are the changed ones that
// Reconfigure cannot apply, by their config keys; what applies live is not
// among them.
func TestNeedsRestartNamesTheChangedSettings(t *testing.T) {
	a, b := config.Default(), config.Default()
	b.Server.Port = 9090
	b.Dedup.Capacity++
	b.Auth.Enabled, b.Auth.Tokens = true, []string{"t"} // live
	b.ConnectionLimit.MaxConnections = 5                // live
	got := needsRestart(&a, &b)
	if want := []string{"server.port", "dedup.capacity"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("needs a restart: %q, want %q", got, want)
	}
	if got := needsRestart(&a, &a); len(got) != 0 {
		t.Fatalf("an unchanged config needs a restart: %q", got)
	}
}
