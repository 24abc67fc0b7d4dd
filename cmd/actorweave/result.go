package main

import (
	"github.com/spf13/cobra"
)

func newResultCmd() *cobra.Command {
	var o clientOpts
	var process, message string
	cmd := &cobra.Command{
		Use:   "result --process PID --message ID",
		Short: "Print the result of a message (JSON)",
		Long: `Ask the node for the result of message --message on process --process (GET /result/:id, as
aoconnect's result does), evaluating the process up to that message if it has not been yet, and
print it as indented JSON: Output, Messages, Spawns, Assignments, GasUsed, and Error when the
evaluation failed. --message may also be an assignment id, or the process id for the result of
the process's own first evaluation.`,
		Example: `  actorweave result --process PID --message MESSAGE_ID`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.resolve(cmd); err != nil {
				return err
			}
			pid, err := requireID("process", process)
			if err != nil {
				return err
			}
			mid, err := requireID("message", message)
			if err != nil {
				return err
			}
			c, err := o.client(false)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd)
			defer cancel()
			raw, err := c.ResultJSON(ctx, pid, mid)
			if err != nil {
				return o.nodeError(err)
			}
			return printJSON(cmd.OutOrStdout(), raw)
		},
	}
	o.bindNode(cmd)
	o.bindWallet(cmd, "not needed to read a result; accepted so that every client verb takes the same flags")
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "id of the process")
	f.StringVar(&message, "message", "", "id of the message")
	return cmd
}
