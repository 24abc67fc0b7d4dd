package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSpawnCmd() *cobra.Command {
	var o clientOpts
	var module, scheduler string
	cmd := &cobra.Command{
		Use:   "spawn --module ID [--scheduler ADDR] [--tag NAME=VALUE ...] [--data STRING | --data-file FILE]",
		Short: "Spawn a process of a module and print its id",
		Long: `Sign a Process data item (Data-Protocol ao, Type Process, Module, Scheduler, and the --tag
tags) with --wallet and post it to the node's messenger (POST /), as aoconnect's spawn does.
The wallet becomes the process's owner. Without --scheduler the node's own scheduler address
(GET /) is used.

The process id is printed as the last line.`,
		Example: `  actorweave spawn --module MODULE_ID --tag Name=counter --wallet wallet.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.resolve(cmd); err != nil {
				return err
			}
			mod, err := requireID("module", module)
			if err != nil {
				return err
			}
			tags, err := o.messageTags()
			if err != nil {
				return err
			}
			data, err := o.messageData(cmd)
			if err != nil {
				return err
			}
			c, err := o.client(true)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd)
			defer cancel()
			pid, err := c.Spawn(ctx, mod, scheduler, data, tags)
			if err != nil {
				return o.nodeError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), pid.String())
			return nil
		},
	}
	o.bindNode(cmd)
	o.bindWallet(cmd, "signing key and owner of the process, a JWK file made by \"actorweave keygen\"")
	o.bindMessage(cmd)
	f := cmd.Flags()
	f.StringVar(&module, "module", "", "id of the module to run (from \"actorweave module publish\")")
	f.StringVar(&scheduler, "scheduler", "", "scheduler address (default: the node's own)")
	return cmd
}
