package actors

import (
	"fmt"
	"net"
	"strconv"

	"github.com/asynkron/protoactor-go/cluster"
)

// singleMember is the cluster provider of a one-node cluster: the member list is this node. The
// memberlist provider of the cluster issue replaces it.
type singleMember struct{ kinds []string }

func (p *singleMember) StartMember(c *cluster.Cluster) error {
	host, port, err := net.SplitHostPort(c.ActorSystem.Address())
	if err != nil {
		return fmt.Errorf("actors: actor system address %q: %w", c.ActorSystem.Address(), err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("actors: actor system port %q: %w", port, err)
	}
	c.MemberList.UpdateClusterTopology(cluster.Members{{
		Id: c.ActorSystem.ID, Host: host, Port: int32(n), Kinds: p.kinds,
	}})
	return nil
}

func (p *singleMember) StartClient(c *cluster.Cluster) error { return p.StartMember(c) }

func (p *singleMember) Shutdown(graceful bool) error { return nil }
