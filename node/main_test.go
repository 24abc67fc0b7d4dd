package node

import (
	"testing"

	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// TestMain removes the compilation cache that startNode's nodes share (wasmcache) after the tests.
//
// Which tests run in parallel (t.Parallel; they start once every serial test has ended): those
// that own everything they touch (nodes in process or child processes on ports the kernel picks,
// their own folders, arlocal instances) and whose bounds are far above what they take, so that a
// share of the CPU does not fail them: the single-node tests, the kill -9 durability tests of one
// node (TestKill9Node, TestKill9Flush: no failover bound) and TestClusterFailoverVerifiedFromArweave
// (bounds of minutes). Serial, and why:
//   - kill -9, freeze or leave and failover under load, with bounds near what detection takes or
//     "no request may fail": TestClusterKill9 (freeze and kill -9), TestClusterKill9FailureSignal (20 s against
//     memberlist's 30 s), TestClusterKill9NoRetry, TestClusterGracefulLeave,
//     TestClusterRollingRestart, TestClusterFactor3Kill2, TestClusterQuorum,
//     TestClusterDuplicateOfPendingWrite (a frozen backup against a 10 s replication wait);
//   - t.Setenv, which the child nodes read (and which panics in a parallel test): TestCronKill9,
//     TestClusterHandoverCarriesCheckpoint, TestClusterWeightChange, TestClusterJoinRebalance and
//     everything started through startMigrateCluster;
//   - network namespaces and package globals (cutFlag): TestClusterPartition,
//     TestClusterPartitionRestart;
//   - timing within a second or two, or CPU burnt on purpose: TestCronDormantButPunctual,
//     TestCronMonitor, TestFlushRefusedThenHealed, TestSelfMessagingLoop,
//     TestPushBacklogAndSpawnQuotas, TestReceiveQuota, TestCloseStopsRecovery,
//     TestDryRunsDoNotDelayMessages, TestCloseWithEvaluationsQueued;
//   - TestRunKeepsHTTPAcrossRestart (an in-process cluster node: Remote.Start replaces gRPC's
//     global logger, docs/design.md §8) and TestSharedCompileCacheIsHit (counts the files of the
//     shared cache, which another test could add to).
func TestMain(m *testing.M) { wasmcache.Main(m) }
