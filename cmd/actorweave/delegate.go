package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

func newDelegateCmd() *cobra.Command {
	var key, out string
	var to []string
	cmd := &cobra.Command{
		Use:   "delegate --key OLD-SCHEDULER-KEY --to ADDRESS [--to ADDRESS] --out FILE",
		Short: "Sign a Scheduler-Delegation: let other keys sign assignments for processes naming this key as Scheduler",
		Long: `Sign a Scheduler-Delegation item with --key, the key whose address processes name as their
Scheduler, naming each --to address as allowed to sign their assignments. Give the file to a node
with --scheduler-delegation FILE: it keeps it and flushes it to Arweave, where recovery and verify
find it and accept assignments signed by the delegates.

Use it for logs written before one scheduler identity per cluster: processes spawned on one member
whose assignments other members signed with their own node keys (docs/scheduler-identity.md). A
node whose own key differs from its scheduler key delegates to the scheduler key by itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" || out == "" || len(to) == 0 {
				return fmt.Errorf("--key, --to and --out are required")
			}
			s, err := ans104.LoadKeyFile(key)
			if err != nil {
				return err
			}
			d, err := arweave.Delegation(ans104.Address(s.SignatureType(), s.Owner()), to...)
			if err != nil {
				return err
			}
			if err := d.Sign(s); err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			if _, err := f.Write(d.Bytes()); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), d.ID())
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "JWK of the Scheduler that delegates (the address processes name)")
	cmd.Flags().StringArrayVar(&to, "to", nil, "address allowed to sign assignments (repeatable)")
	cmd.Flags().StringVar(&out, "out", "", "file to write the signed item to (must not exist)")
	return cmd
}
