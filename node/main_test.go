package node

import (
	"testing"

	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestMain removes the compilation cache that startNode's nodes share (wasmcache) after the tests.
//
// Which tests run in parallel (t.Parallel; they start once every serial test has ended): only
// those whose nodes are child processes (this process runs no node of theirs), that own what
// they touch (ports the kernel picks, their own folders and arlocal) and whose bounds are far
// above what they take: the kill -9 durability tests of one node (TestKill9Node, TestKill9Flush:
// no failover bound), TestClusterFailoverVerifiedFromArweave (bounds of minutes),
// TestClusterStatusAnonymous, and the unit tests that start no node. Serial, and why:
//   - every test with a node in this process: each node starts Proto.Actor's remote, and
//     Remote.Start replaces gRPC's global logger, a data race with any other node of the process
//     (docs/design.md §8). With the single-node tests in parallel the race detector caught it
//     (TestFlushConfigErrors against TestFlushDrainOnClose), so they stay serial;
//   - kill -9, freeze or leave and failover under load, with bounds near what detection takes or
//     "no request may fail": TestClusterKill9, TestClusterKill9FailureSignal (20 s against
//     memberlist's 30 s), TestClusterKill9NoRetry, TestClusterGracefulLeave,
//     TestClusterRollingRestart, TestClusterFactor3Kill2, TestClusterQuorum,
//     TestClusterDuplicateOfPendingWrite (a frozen backup against a 10 s replication wait);
//   - t.Setenv, which the child nodes read (and which panics in a parallel test): TestCronKill9,
//     TestClusterHandoverCarriesCheckpoint, TestClusterWeightChange, TestClusterJoinRebalance and
//     everything started through startMigrateCluster;
//   - network namespaces and package globals (cutFlag): TestClusterPartition,
//     TestClusterPartitionRestart.
func TestMain(m *testing.M) { wasmcache.Main(m) }
