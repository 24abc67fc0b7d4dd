// Package ondemand is recovery on demand, for a node: a node with a gateway that is asked about a
// process it does not hold rebuilds it from Arweave first (recovery.Recover), once for all
// concurrent askers (a single flight: later askers wait for the first one's outcome), then
// answers. A process the gateway does not have is not asked for again for a while (AbsentTTL), so
// requests for unknown ids do not each cost a gateway query.
//
// In a cluster, a process that no member holds is rebuilt by the member that will own it, not by
// the member that was asked: the operations then reach it at its owner, which serves it and
// replicates it to its backups on its first write (the activation's hand-over seeds a backup that
// lacks the process). A member asked about a process it does not hold therefore asks the owner to
// make sure of it (OpRecover; the owner runs its own single-flight recovery, or does nothing when
// it holds the process or has no gateway), and waits for the answer.
//
// It owns that orchestration; the rebuild and its checks are package recovery's, which stays free
// of the cluster's transport because verify uses it. It must not decide placement (the caller says
// who owns a process) or answer API requests (the caller maps its errors).
package ondemand
