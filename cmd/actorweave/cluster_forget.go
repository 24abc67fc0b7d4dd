package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/api"
	"github.com/actorweave/actorweave/cluster"
)

// newClusterForgetCmd is `actorweave cluster forget`: remove members that will not come back from
// the cluster's known members, so that the survivors count a quorum without them.
func newClusterForgetCmd() *cobra.Command {
	var nodeURL, keyFile string
	cmd := &cobra.Command{
		Use:   "forget NAME...",
		Short: "Remove dead members for good, so the survivors regain a quorum",
		Long: `A member takes writes only while its view holds a majority of the members the cluster
knows (a partition's minority must not write). A node that died and will not return keeps counting
until it is forgotten. NAME is a member's name as 'cluster status' shows it (its node key's
address). The request is signed with the cluster key; members still alive are refused.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, names []string) error {
			at, mac, err := signAdmin(keyFile, "forget", names)
			if err != nil {
				return err
			}
			body, _ := json.Marshal(api.ForgetRequest{Names: names, Time: at, MAC: mac})
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			out, err := postAdmin(ctx, strings.TrimRight(nodeURL, "/")+"/cluster/forget", body)
			if err != nil {
				return err
			}
			var res cluster.ForgetResult
			if err := json.Unmarshal(out, &res); err != nil {
				return err
			}
			members := make([]string, 0, len(res.Members))
			for m := range res.Members {
				members = append(members, m)
			}
			sort.Strings(members)
			failed := 0
			for _, m := range members {
				o := res.Members[m]
				if o.Error != "" {
					failed++
					fmt.Fprintf(cmd.OutOrStdout(), "%s: not asked: %s\n", m, o.Error)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: forgot %d (%s)\n", m, len(o.Forgotten), strings.Join(o.Forgotten, ", "))
			}
			if failed > 0 {
				return fmt.Errorf("%d member(s) could not be asked; run it again once they answer", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&nodeURL, "node", "http://127.0.0.1:8734", "URL of any live member")
	cmd.Flags().StringVar(&keyFile, "cluster-key", "", "the cluster key file (signs the request)")
	_ = cmd.MarkFlagRequired("cluster-key")
	return cmd
}
