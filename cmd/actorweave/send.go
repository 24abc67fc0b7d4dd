package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSendCmd() *cobra.Command {
	var o clientOpts
	var process, action string
	var wait bool
	cmd := &cobra.Command{
		Use:   "send --process PID [--action A] [--tag NAME=VALUE ...] [--data STRING | --data-file FILE] [--wait]",
		Short: "Send a message to a process and print its id",
		Long: `Sign a Message data item (Data-Protocol ao, Type Message, Action and the --tag tags) to --process
with --wallet, and post it to the node's messenger (POST /), as aoconnect's message does. The
node answers once the message is durably scheduled.

The message id is printed on the first line. With --wait the command then waits for the
message's evaluation and prints its result (Output, Messages, Spawns, Assignments, Error,
GasUsed) as JSON, as "actorweave result" does. An evaluation that failed is printed like any
other, with its Error; the exit status is 0 once the message is scheduled.`,
		Example: `  actorweave send --process PID --action Eval --data 'x = (x or 0) + 1; return x' --wait --wallet wallet.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid, tags, data, err := o.message(cmd, process, action)
			if err != nil {
				return err
			}
			c, err := o.client(true)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd)
			defer cancel()
			id, err := c.Send(ctx, pid, data, tags)
			if err != nil {
				return o.nodeError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), id.String())
			if !wait {
				return nil
			}
			raw, err := c.ResultJSON(ctx, pid, id)
			if err != nil {
				return fmt.Errorf("message %s was sent, but its result: %w", id, o.nodeError(err))
			}
			return printJSON(cmd.OutOrStdout(), raw)
		},
	}
	o.bindNode(cmd)
	o.bindWallet(cmd, "signing key, a JWK file made by \"actorweave keygen\"")
	o.bindMessage(cmd)
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "id of the process to send to")
	f.StringVar(&action, "action", "", "the Action tag")
	f.BoolVar(&wait, "wait", false, "wait for the message's result and print it")
	return cmd
}
