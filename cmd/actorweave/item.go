package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/actorweave/actorweave/ans104"
	"github.com/spf13/cobra"
)

func newItemCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "item", Short: "Work with ANS-104 data items"}
	cmd.AddCommand(newItemInspectCmd())
	return cmd
}

func newItemInspectCmd() *cobra.Command {
	var lim ans104.Limits
	cmd := &cobra.Command{
		Use:   "inspect FILE|-",
		Short: "Parse and verify a binary data item and print it as JSON",
		Long: `Parse a binary ANS-104 data item (a file, or - for standard input), verify its signature,
check it against the AO tag schema of its Type, and print it as JSON. The exit status is non-zero
when the item does not parse or its signature does not verify; an AO schema problem is reported
in the "ao_error" field.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw []byte
			var err error
			if args[0] == "-" {
				raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), int64(lim.MaxItemBytes)+1))
			} else {
				raw, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			d, err := ans104.ParseAndVerify(raw, lim)
			if err != nil {
				return err
			}
			out := map[string]any{
				"id": d.ID().String(), "signature_type": fmt.Sprintf("%d (%s)", d.SignatureType, d.SignatureType),
				"owner_address": d.OwnerAddress(), "tags": d.Tags, "size": len(raw), "data_bytes": len(d.Data),
			}
			if len(d.Target) > 0 {
				out["target"] = d.TargetID().String()
			}
			if len(d.Anchor) > 0 {
				out["anchor"] = string(d.Anchor)
			}
			if len(d.Data) <= 1024 && utf8.Valid(d.Data) {
				out["data"] = string(d.Data)
			}
			if kind, err := ans104.Kind(d); err != nil {
				out["ao_error"] = err.Error()
			} else {
				out["kind"] = kind
				if err := checkAOKind(kind, d); err != nil {
					out["ao_error"] = err.Error()
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	bindItemLimits(cmd.Flags(), &lim)
	return cmd
}

func checkAOKind(kind string, d *ans104.DataItem) error {
	var err error
	switch kind {
	case ans104.KindProcess:
		_, err = ans104.AsProcess(d)
	case ans104.KindMessage:
		_, err = ans104.AsMessage(d)
	case ans104.KindModule:
		_, err = ans104.AsModule(d)
	case ans104.KindAssignment:
		_, err = ans104.AsAssignment(d)
	case ans104.KindCheckpoint:
		_, err = ans104.AsCheckpoint(d)
	}
	return err
}
