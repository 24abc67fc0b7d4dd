package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/recovery"
	"github.com/actorweave/actorweave/verify"
	"github.com/actorweave/actorweave/weavedrive"
)

// errNotVerified makes the exit status 1 after the report is printed.
var errNotVerified = errors.New("not verified: see the report above")

func newVerifyCmd() *cobra.Command {
	var process, gateway, node string
	var wd weavedrive.Config
	var asJSON, partial bool
	var wait time.Duration
	var timeout time.Duration
	var retries, maxData int
	cmd := &cobra.Command{
		Use:   "verify --process PID --gateway URL [--node URL]",
		Short: "Recompute a process from Arweave alone and compare with a node",
		Long: `Read process --process back from the Arweave gateway --gateway alone (the log batches the
node flushed, the module, the checkpoints), check every signature, the assignment hash chain, that
every assignment is signed by the process's Scheduler and that epochs never go back, then evaluate
every message with the runtime in a temporary folder, exactly as a node does, and report:
  - per checkpoint: the recomputed memory SHA-256 at its nonce against its SHA-256 tag;
  - with --node, per message: the recomputed result against the node's GET /result (Messages,
    Spawns, Assignments, Output and Error, as canonical JSON);
  - at the end: the final memory SHA-256, against the node's GET /state when the node is at the
    same nonce.
Coverage: with --node, verify first reads how long the node's log is and reports how many of those
entries are on Arweave; fewer is a failure (exit 1) unless --partial. --wait DURATION first waits
up to that long for the node's flush to catch up.
Nothing is trusted from the node. Exit status 0 only when everything matches; 1 on any mismatch
or missing piece (a hole in the log, a broken chain, a result the node does not serve, entries of
the node not on Arweave).
Progress goes to stderr; the report to stdout (--json for a machine-readable one).`,
		Example: `  actorweave verify --process PID --gateway http://127.0.0.1:1984 --node http://127.0.0.1:8734`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid, err := requireID("process", process)
			if err != nil {
				return err
			}
			if gateway == "" {
				return errors.New("--gateway is required: the Arweave gateway to read the process from")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			src := recovery.Gateway(arweave.NewGateway(gateway), arweave.Retry{Attempts: retries + 1, Backoff: arweave.DefaultRetry.Backoff}, maxData)
			rep, err := verify.Run(ctx, verify.Config{Source: src, Node: node, Logger: log, Partial: partial, Wait: wait, WeaveDrive: wd}, pid)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				verify.Render(out, rep)
			}
			if !rep.OK {
				return errNotVerified
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "id of the process to verify")
	f.StringVar(&gateway, "gateway", "", "Arweave gateway to read the process from (e.g. http://127.0.0.1:1984)")
	f.StringVar(&node, "node", "", "node whose results and state are compared (empty: check the gateway's data only)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&partial, "partial", false, "accept a gateway behind the node: verify the entries that are on Arweave and report the rest")
	f.DurationVar(&wait, "wait", 0, "with --node, wait up to this long for the gateway to hold every entry the node had at the start (0: do not wait)")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (0: no limit)")
	f.IntVar(&retries, "retries", arweave.DefaultRetry.Attempts-1, "retries of a failed gateway read (network errors, 429, 5xx)")
	f.IntVar(&maxData, "max-data-bytes", 256<<20, "largest download accepted from the gateway (a log batch, the module, a checkpoint)")
	bindWeaveDriveFlags(f, &wd, "--gateway") // the node's WeaveDrive limits: give verify the same ones
	return cmd
}
