// Package cluster owns membership (hashicorp/memberlist as protoactor-go's ClusterProvider),
// placement (weighted rendezvous hashing), the node-to-node protocol over Proto.Actor remote
// (the Forwarder, with clusterpb wire forms and errors that keep their sentinels across nodes),
// and the cluster's security (a shared key → memberlist's AES-GCM key, a deterministic CA for
// mutual TLS on gRPC, and ItemProof: a member's proof to an owner that it verified the item it
// forwards, so that an item is verified once in the cluster), and the split-brain guard: the known
// members a quorum counts (Quorum) and forgetting those that leave for good (forget.go: on every
// member of the view at once).
//
// It must not hold process state: logs, results and activations belong to persistence and actors.
// It does not import actors or node; they import it.
//
// # The seam for hand-off, replication and failover
//
// Everything that moves or copies process data asks this package two things:
//
//   - where a process belongs now: Membership.View() returns an immutable *View;
//     View.Owners(pid, nil) is the preference list, best first — [0] the owner, [1] the first
//     backup, and so on — computed by Rank, a pure function of the member set (every node with the
//     same members computes the same list); View.Replicas(pid, nil, factor) is that list cut to the
//     replication factor, the process's replica set. View.IsSelf(m) says whether m is this node. Members are
//     hashed by Member.Name (the node key's wallet address, stable across restarts on the same
//     data folder), not by Member.ID (the actor system id, new on every start).
//   - when that changes: Membership.Subscribe() returns a channel of *View (latest-wins: a slow
//     reader may skip intermediate views, never the newest) and a cancel function. Each published
//     view has a larger Seq on this node. Compare Owners under the old and the new view to find
//     the processes that move.
//
// To talk to another member, declare an Op (op.go) where its rule lives: its name, its protobuf
// request and reply (clusterpb/cluster.proto, `make proto`) and what the receiving member does.
// Register it on the node's Forwarder (actors.Host.Forwarder()), and call it on one member (Call),
// on the first other member that holds the answer (Any), or on every member, each answer kept for
// the caller to merge (All, Others). An operation on one process is not an Op but an actors
// operation, routed to the process's owner (actors/op.go). List sentinel errors in the ErrorTable
// given to NewForwarder (actors.WireErrors, one table for the node) so errors.Is works on the caller.
//
// Tests: cluster/clustertest starts N nodes as child processes (the test binary re-executed: the
// package's TestMain must call clustertest.Main) with their own data folders and random loopback
// ports; Node.Kill is a real kill -9, Node.Stop a SIGTERM, Node.Status the /cluster/status JSON.
//
// # Routing and single activation
//
// actors routes every request for a process to View.Owners(pid)[0]: locally through its lookup,
// or as a Call to the owner's forwarder. The owner runs the request only if it owns the process in
// its own view, else answers ErrNotOwner before activating or writing anything; the caller waits
// for views to converge and routes again. So a process is only activated where the activating
// node's view places it; on every new view, activations of processes the node no longer owns are
// asked to passivate (actors' followViews). Views of different nodes can disagree for a moment
// during a membership change, so two nodes can each believe they own a process briefly: the
// ownership epoch checked in the durable append (persistence's epoch fence, wired by the
// hand-off work) is what must make the stale one's writes fail.
//
// A process may require labels (its Placement-Labels tag): pass them as Owners' want. The actors
// package resolves them for a pid (actors.Host.Owner(ctx, pid) gives the owner with labels applied).
//
// # Membership
//
// Provider publishes full snapshots of memberlist's members (alive and suspect, self always
// included, foreign clusters and protocol versions filtered out) from one goroutine, on every
// memberlist event and on a ticker (Config.Resync), to protoactor's MemberList and to our views.
// Ids memberlist declared gone are remembered (tombstones, also exchanged in push-pull syncs)
// and never admitted again, as protoactor blocks them for ever; a node that finds its own id in a
// peer's tombstones calls Config.OnFenced (the watchdog). Protoactor's own gossip is switched off:
// memberlist is the only failure detector (its timings: Timing).
//
// Healing (partition_test.go): a member memberlist declares dead stays in the view for a grace
// period in which it may refute (a death gossiped by the other side of a healed partition);
// removals reported by a member this one removed are not learnt; when two members removed each
// other, only the one whose view was smaller (tie: smaller id) fences. memberlist never contacts a
// dead member again, so the provider remembers every address it saw alive (Config.PeersFile) and
// joins the remembered ones no live member holds (reconnect.go), as serf does. A member started
// Hidden stays out of its peers' views until Ready, so nothing is routed to a node still starting.
package cluster
