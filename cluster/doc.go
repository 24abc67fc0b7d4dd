// Package cluster owns membership (memberlist), identity lookup and placement, ownership epochs,
// hand-off and backup replication, and the node-to-node protocol.
//
// It must not hold process state.
package cluster
