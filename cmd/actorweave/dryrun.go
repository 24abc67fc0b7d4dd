package main

import (
	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

func newDryrunCmd() *cobra.Command {
	var o clientOpts
	var process, action, owner string
	cmd := &cobra.Command{
		Use:   "dryrun --process PID [--action A] [--tag NAME=VALUE ...] [--data STRING | --data-file FILE]",
		Short: "Evaluate a message on a process without changing it, and print the result (JSON)",
		Long: `Evaluate a message on a throwaway copy of the process's latest state (POST /dry-run, as
aoconnect's dryrun does) and print the result as indented JSON. Nothing is signed, scheduled or
kept: the process is unchanged afterwards.

The message's Owner (and so its From) is, in this order: --owner; the address of --wallet (or
ACTORWEAVE_WALLET) when one is given; else "1234", aoconnect's default. Processes that only obey
their owner (aos Eval) need the owner's address.`,
		Example: `  actorweave dryrun --process PID --action Eval --data 'return x' --wallet wallet.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid, tags, data, err := o.message(cmd, process, action)
			if err != nil {
				return err
			}
			c, err := o.client(false)
			if err != nil {
				return err
			}
			if owner == "" && c.Signer != nil {
				owner = ans104.Address(c.Signer.SignatureType(), c.Signer.Owner())
			}
			ctx, cancel := o.context(cmd)
			defer cancel()
			raw, err := c.DryRunJSON(ctx, pid, client.DryRunMessage{Owner: owner, Data: string(data), Tags: tags})
			if err != nil {
				return o.nodeError(err)
			}
			return printJSON(cmd.OutOrStdout(), raw)
		},
	}
	o.bindNode(cmd)
	o.bindWallet(cmd, "a JWK file whose address is the message's Owner (optional)")
	o.bindMessage(cmd)
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "id of the process")
	f.StringVar(&action, "action", "", "the Action tag")
	f.StringVar(&owner, "owner", "", "the message's Owner address (default: the --wallet's address, else 1234)")
	return cmd
}
