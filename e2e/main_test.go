package e2e

import (
	"testing"

	"github.com/actorweave/actorweave/cluster/clustertest"
)

// TestMain lets clustertest re-execute this test binary as cluster nodes.
func TestMain(m *testing.M) { clustertest.Main(m) }
