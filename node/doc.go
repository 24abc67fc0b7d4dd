// Package node assembles one actorweave node: it opens the Pebble store and the node key, starts the
// wazero engine and the process actors, joins the cluster, and serves the HTTP API, implementing
// api.Backend on top of them. It constructs the packages and connects them (each one's callbacks
// and ops registered on the others), and translates between them: their errors into the API's
// status classes, stored records into API records, and each package's answer onto the routes.
//
// The rules live in the packages it connects: scheduling, evaluation and delivery in scheduler,
// compute, messenger and actors; replication, hand-over, rebalancing and drain in
// cluster/replication; every operation on a process, its routing to the owner and the reads of its
// log and results in actors (node translates their answers); membership, quorum, forgetting members
// and the shape of every member-to-member operation (cluster.Op) in cluster; items across members
// (publish, fetch, the GraphQL fan-out) in cluster/items; recovery from Arweave in recovery, its
// single flight and its routing to the owner in recovery/ondemand. node must not grow one of its
// own: a decision about processes, members or data belongs to the package that owns that data.
//
// What node still decides itself, and why (kept small on purpose): the order of start and stop
// (node.go, and Drain's order: stop rebalancing, capacity 0, forget self, hand over); what a
// member's status line holds (cluster.go: it reads the store, the host, the quorum and the
// forwarder, which only node holds together); the operator's resolve-fork route, which settles the
// fork in replication and schedules the lost messages again through actors (resolve_fork.go); the
// scheduler key's derivation and the Scheduler-Location record (schedkey.go, location.go); and the
// restart after a fence (supervise.go).
package node
