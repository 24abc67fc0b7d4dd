package node

import (
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/persistence"
)

// startReplication makes the node replicate every append to each process's backup when it has a
// placement (cluster membership, or Config.Placement) and a replication factor of 2 (the default in
// a cluster; a single node has no backup).
func (n *Node) startReplication() error {
	place := n.cfg.Placement
	if place == nil && n.provider != nil {
		// Owner and backup are the first two members of the process's weighted rendezvous order
		// under this node's current view: the same order the router uses.
		place = func(pid persistence.ID) (string, string) {
			owners := n.host.Members().View().Owners(ans104.ID(pid).String(), nil)
			switch len(owners) {
			case 0:
				return "", ""
			case 1:
				return owners[0].Address, ""
			}
			return owners[0].Address, owners[1].Address
		}
	}
	if place == nil {
		return nil // single node: factor 1
	}
	rc := n.cfg.Replication
	if rc.Factor == 0 {
		rc.Factor = 2
	}
	if rc.Factor == 1 {
		return nil
	}
	r, err := replication.New(n.host.System(), n.store, place, rc)
	if err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	n.repl = r
	n.host.SetReplication(r)
	return nil
}

// RemoteAddress is the node's Proto.Actor remote address (what placement names owners and backups by).
func (n *Node) RemoteAddress() string { return n.host.System().Address() }

// Replication is the node's replicator (nil without a backup).
func (n *Node) Replication() *replication.Replicator { return n.repl }
