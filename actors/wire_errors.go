package actors

import (
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"

	awcluster "github.com/actorweave/actorweave/cluster"
)

// WireErrors is the one table of the sentinels that a grain operation, a forwarded request or
// replication may return to another node, most specific first (cluster.ErrorTable says how it
// travels). The host hands it to its forwarder, followed by Deps.WireErrors and then the cluster's
// own (cluster.BaseErrors). An error this table does not name still crosses, as its message alone:
// add a sentinel here when a caller on another node must tell it apart.
func WireErrors() awcluster.ErrorTable {
	return awcluster.ErrorTable{
		// The grain's own refusals.
		{Code: "process_not_found", Err: ErrProcessNotFound}, {Code: "process_exists", Err: ErrProcessExists},
		{Code: "module_not_found", Err: ErrModuleNotFound}, {Code: "wrong_process", Err: ErrWrongProcess},
		{Code: "stopping", Err: ErrStopping}, {Code: "busy", Err: ErrBusy}, {Code: "quota", Err: ErrQuota},
		{Code: "no_placement", Err: ErrNoPlacement}, {Code: "not_current", Err: ErrNotCurrent},
		// Replication's refusals (its ErrNotOwner is cluster.ErrNotOwner, in cluster.BaseErrors).
		{Code: "repl_backup_unreachable", Err: replication.ErrBackupUnreachable},
		{Code: "repl_no_backup", Err: replication.ErrNoBackup}, {Code: "repl_resync", Err: replication.ErrResync},
		{Code: "repl_forked", Err: replication.ErrForked}, {Code: "repl_diverged", Err: replication.ErrDiverged}, {Code: "cluster_no_quorum", Err: awcluster.ErrNoQuorum},
		// The store's and the runtime's, the generic not-found last.
		{Code: "message_exists", Err: persistence.ErrMessageExists},
		{Code: "assignment_exists", Err: persistence.ErrAssignmentExists},
		{Code: "store_process_exists", Err: persistence.ErrProcessExists}, {Code: "store_invalid", Err: persistence.ErrInvalid},
		{Code: "store_limit", Err: persistence.ErrLimit}, {Code: "runtime_format", Err: runtime.ErrFormat},
		{Code: "store_not_found", Err: persistence.ErrNotFound},
	}
}
