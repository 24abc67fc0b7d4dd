package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/node"
)

// clusterFlags are the node's cluster flags before parsing into node.ClusterConfig.
type clusterFlags struct {
	join, labels   string
	capacity       uint32
	failureTimeout time.Duration
	flags          *pflag.FlagSet
}

func bindClusterFlags(f *pflag.FlagSet, cfg *node.Config) *clusterFlags {
	cf := &clusterFlags{capacity: 1, flags: f}
	f.StringVar(&cfg.Cluster.Listen, "cluster-listen", "", "memberlist address (UDP and TCP) HOST:PORT; set it to run as a cluster member (without it the node runs alone)")
	f.StringVar(&cfg.Cluster.Remote, "cluster-remote", "", "Proto.Actor remote (gRPC) address HOST:PORT other members reach this node at (default: the --cluster-listen host, any free port)")
	f.StringVar(&cf.join, "join", "", "memberlist addresses of members to join, HOST:PORT,... (none: start a new cluster)")
	f.Uint32Var(&cf.capacity, "capacity", 1, "placement weight: a node of capacity 2 owns about twice the processes of one of capacity 1")
	f.StringVar(&cf.labels, "labels", "", "node labels k=v,... (processes may require labels with a Placement-Labels tag)")
	f.StringVar(&cfg.Cluster.KeyFile, "cluster-key", "", "shared cluster key file (at least 16 bytes, e.g. head -c 32 /dev/urandom): encrypts and authenticates memberlist and mutual-TLS gRPC; required with --cluster-listen")
	// Failure detection: memberlist declares a silent member gone after about probe-interval +
	// probe-timeout + suspicion-mult × max(1, log10(members)) × probe-interval.
	t := awcluster.DefaultTiming()
	cfg.Cluster.Timing = t
	f.DurationVar(&cfg.Cluster.Timing.GossipInterval, "gossip-interval", t.GossipInterval, "how often a member gossips membership news to a few others (memberlist)")
	f.DurationVar(&cfg.Cluster.Timing.ProbeInterval, "probe-interval", t.ProbeInterval, "how often a member probes another; a silent member is declared gone after about probe-interval + probe-timeout + suspicion-mult × max(1, log10(members)) × probe-interval")
	f.DurationVar(&cfg.Cluster.Timing.ProbeTimeout, "probe-timeout", t.ProbeTimeout, "how long a probe waits for an answer (shorter than --probe-interval)")
	f.DurationVar(&cfg.Cluster.Timing.PushPullInterval, "push-pull-interval", t.PushPullInterval, "how often a member syncs its whole membership state with another over TCP (catches news its UDP gossip missed; memberlist's default is 30s)")
	f.IntVar(&cfg.Cluster.Timing.SuspicionMult, "suspicion-mult", t.SuspicionMult, "how many probe intervals (times log10 of the member count) a suspected member has to refute before it is declared gone")
	f.DurationVar(&cfg.Cluster.Lease, "quorum-lease", awcluster.DefaultLease, "a member counts a peer present while it heard its heartbeat within this; a member that hears too few of the known members answers 503 'no quorum' this long after a partition cuts it off (heartbeats go out every lease/5)")
	f.DurationVar(&cf.failureTimeout, "failure-timeout", awcluster.DefaultFailureTimeout, "a member not heard (its quorum-lease heartbeats) for this long is taken out of placement until it is heard again, so its backups take its processes over within seconds of a crash; at least 1.5 × --quorum-lease (default: 2 × --quorum-lease); 0 leaves failure detection to memberlist alone (about 7 s)")
	f.DurationVar(&cfg.Cluster.ReconnectInterval, "cluster-reconnect-interval", 2*time.Second, "how often to join again remembered members that are not live (after a partition heals, or a restart); each address backs off to 30 s")
	f.DurationVar(&cfg.Cluster.ReconnectTimeout, "cluster-reconnect-timeout", 24*time.Hour, "how long to keep trying a member's address after it was last seen alive")
	return cf
}

func (cf *clusterFlags) apply(cfg *node.Config) error {
	labels, err := awcluster.ParseLabels(cf.labels)
	if err != nil {
		return fmt.Errorf("--labels: %w", err)
	}
	if cf.capacity == 0 {
		return fmt.Errorf("--capacity must be at least 1")
	}
	cfg.Cluster.Labels, cfg.Cluster.Capacity = labels, cf.capacity
	cfg.Cluster.Join = nil
	for _, j := range strings.Split(cf.join, ",") {
		if j = strings.TrimSpace(j); j != "" {
			cfg.Cluster.Join = append(cfg.Cluster.Join, j)
		}
	}
	tm := cfg.Cluster.Timing
	for flag, bad := range map[string]bool{"--gossip-interval": tm.GossipInterval <= 0, "--probe-interval": tm.ProbeInterval <= 0,
		"--probe-timeout": tm.ProbeTimeout <= 0, "--suspicion-mult": tm.SuspicionMult <= 0, "--push-pull-interval": tm.PushPullInterval <= 0} {
		if bad { // zero would mean memberlist's default to the library: on the command line it is a mistake
			return fmt.Errorf("%s must be positive", flag)
		}
	}
	if err := tm.Validate(); err != nil {
		return err
	}
	if l := cfg.Cluster.Lease; l < 100*time.Millisecond || l >= time.Duration(tm.SuspicionMult)*tm.ProbeInterval {
		// Reads rely on the lease running out before the other side can declare this member
		// dead and take its processes over (cluster/lease.go).
		return fmt.Errorf("--quorum-lease %v: must be at least 100ms and shorter than --suspicion-mult × --probe-interval (%v), the least time failure detection takes",
			l, time.Duration(tm.SuspicionMult)*tm.ProbeInterval)
	}
	switch {
	case cf.failureTimeout < 0:
		return fmt.Errorf("--failure-timeout must not be negative (0 turns the failure signal off)")
	case cf.failureTimeout == 0:
		cfg.Cluster.FailureTimeout = -1 // off: memberlist alone
	case cf.flags != nil && !cf.flags.Changed("failure-timeout"):
		cfg.Cluster.FailureTimeout = 0 // two leases, whatever --quorum-lease says
	default:
		cfg.Cluster.FailureTimeout = cf.failureTimeout
	}
	if err := awcluster.ValidateFailureTimeout(cfg.Cluster.FailureTimeout, cfg.Cluster.Lease); err != nil {
		return err
	}
	if cfg.Cluster.ReconnectInterval <= 0 || cfg.Cluster.ReconnectTimeout <= 0 {
		return fmt.Errorf("--cluster-reconnect-interval and --cluster-reconnect-timeout must be positive")
	}
	if !cfg.Cluster.Enabled() && (len(cfg.Cluster.Join) > 0 || cfg.Cluster.KeyFile != "" || cfg.Cluster.Remote != "") {
		return fmt.Errorf("--join, --cluster-key and --cluster-remote need --cluster-listen")
	}
	return nil
}

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect a cluster of nodes"}
	var nodeURL string
	var asJSON bool
	var statusKey string
	status := &cobra.Command{
		Use:   "status",
		Short: "Members, weights, labels and process counts, as one member sees them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(nodeURL, "/")+"/cluster/status", nil)
			if err != nil {
				return err
			}
			if statusKey != "" {
				// With the cluster key the node shows where its members listen.
				sec, err := awcluster.LoadSecurity(statusKey)
				if err != nil {
					return fmt.Errorf("--cluster-key: %w", err)
				}
				now := time.Now()
				req.Header.Set("X-Cluster-Time", strconv.FormatInt(now.UnixMilli(), 10))
				req.Header.Set("X-Cluster-Mac", awcluster.SignAdmin(sec.AdminKey, "status", now, nil))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s answered %d: %s", nodeURL, resp.StatusCode, strings.TrimSpace(string(body)))
			}
			if asJSON {
				_, err = cmd.OutOrStdout().Write(append(body, '\n'))
				return err
			}
			var st node.ClusterStatus
			if err := json.Unmarshal(body, &st); err != nil {
				return err
			}
			return printStatus(cmd.OutOrStdout(), &st)
		},
	}
	status.Flags().StringVar(&nodeURL, "node", "http://127.0.0.1:8734", "URL of any member")
	status.Flags().BoolVar(&asJSON, "json", false, "print the JSON of GET /cluster/status")
	status.Flags().StringVar(&statusKey, "cluster-key", "", "the cluster key file: with it the node also shows its members' addresses")
	cmd.AddCommand(status, newClusterForgetCmd(), newClusterResolveForkCmd())
	return cmd
}

func printStatus(w io.Writer, st *node.ClusterStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tREMOTE\tGOSSIP\tCAPACITY\tLABELS\tPROCESSES\tOWNED\tACTIVE\tVIEW\tCALLS OUT/IN\tSTATUS")
	for _, m := range st.Members {
		name := m.Name
		if m.Self {
			name += " *"
		}
		state := "ok"
		switch {
		case m.Error != "":
			state = m.Error
		case !m.Quorate:
			state = fmt.Sprintf("NO QUORUM: sees %d of %d known members, writes refused", m.ViewSize, m.Known)
		}
		view := fmt.Sprintf("%d (%d members)", m.ViewSeq, m.ViewSize)
		if m.Known > 0 {
			view = fmt.Sprintf("%d (%d of %d known)", m.ViewSeq, m.ViewSize, m.Known)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%d/%d\t%s\n", name, m.Address, m.Gossip, m.Capacity,
			m.Labels.String(), m.Processes, m.Owned, m.Active, view, m.Forwarded.CallsOut, m.Forwarded.CallsIn, state)
	}
	return tw.Flush()
}
