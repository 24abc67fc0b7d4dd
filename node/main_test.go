package node

import (
	"testing"

	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestMain removes the compilation cache that startNode's nodes share (wasmcache) after the tests.
func TestMain(m *testing.M) { wasmcache.Main(m) }
