package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/node"
)

// newClusterResolveForkCmd is `actorweave cluster resolve-fork`: settle a process whose two
// replicas hold different histories by choosing the one to keep.
func newClusterResolveForkCmd() *cobra.Command {
	var nodeURL, keyFile, keep string
	cmd := &cobra.Command{
		Use:   "resolve-fork PROCESS --keep NODE",
		Short: "Keep one replica's history of a forked process; archive the other and schedule its messages again",
		Long: `A process whose owner and backup hold different histories from some nonce on (data left by an
older bug: the quorum lease makes new forks impossible) is refused with 503, naming the nonce and the
two nodes. NODE is the node whose history to keep, by its name as 'cluster status' shows it or its
actor address as the 503 names it. The other history, from the nonce where they part, is archived
(never deleted) and dropped, with the evaluation it had; its messages that the kept log lacks are
scheduled again as new messages. The request is signed with the cluster key and used once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, mac, err := signAdmin(keyFile, "resolve-fork", []string{args[0], keep})
			if err != nil {
				return err
			}
			body, _ := json.Marshal(api.ResolveForkRequest{Process: args[0], Keep: keep, Time: at, MAC: mac})
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			out, err := postAdmin(ctx, strings.TrimRight(nodeURL, "/")+"/cluster/resolve-fork", body)
			if err != nil {
				return err
			}
			var res node.ForkResolution
			if err := json.Unmarshal(out, &res); err != nil {
				return err
			}
			printResolution(cmd.OutOrStdout(), &res)
			return nil
		},
	}
	cmd.Flags().StringVar(&keep, "keep", "", "the node whose history to keep (member name or actor address)")
	cmd.Flags().StringVar(&nodeURL, "node", "http://127.0.0.1:8734", "URL of any live member")
	cmd.Flags().StringVar(&keyFile, "cluster-key", "", "the cluster key file (signs the request)")
	_ = cmd.MarkFlagRequired("keep")
	_ = cmd.MarkFlagRequired("cluster-key")
	return cmd
}

// signAdmin signs an operator's request with the cluster key in keyFile: its time (Unix ms) and MAC.
func signAdmin(keyFile, op string, args []string) (int64, string, error) {
	sec, err := awcluster.LoadSecurity(keyFile)
	if err != nil {
		return 0, "", fmt.Errorf("--cluster-key: %w", err)
	}
	now := time.Now()
	return now.UnixMilli(), awcluster.SignAdmin(sec.AdminKey, op, now, args), nil
}

func postAdmin(ctx context.Context, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func printResolution(w io.Writer, r *node.ForkResolution) {
	fmt.Fprintf(w, "process %s: histories parted at nonce %d\n", r.Process, r.Nonce)
	fmt.Fprintf(w, "kept the history of %s; archived %d entries of %s (%d evaluated, rolled back)\n", r.Kept, r.Archived, r.Lost, r.RolledBack)
	failed := 0
	for _, m := range r.Rescheduled {
		if m.Error != "" {
			failed++
			fmt.Fprintf(w, "  message %s (was nonce %d): not re-scheduled: %s\n", m.Message, m.OldNonce, m.Error)
			continue
		}
		fmt.Fprintf(w, "  message %s (was nonce %d): re-scheduled at nonce %d\n", m.Message, m.OldNonce, m.Nonce)
	}
	fmt.Fprintf(w, "re-scheduled %d of %d lost messages\n", len(r.Rescheduled)-failed, len(r.Rescheduled))
}
