package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/runtime"
)

func newModuleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "module", Short: "Work with process modules (WebAssembly)"}
	cmd.AddCommand(newModulePublishCmd())
	return cmd
}

func newModulePublishCmd() *cobra.Command {
	var o clientOpts
	var format, memoryLimit, computeLimit string
	cmd := &cobra.Command{
		Use:   "publish FILE.wasm --format FORMAT [--memory-limit V] [--compute-limit N]",
		Short: "Publish a WebAssembly module to a node and print its id",
		Long: `Sign a Module data item (Data-Protocol ao, Type Module, Module-Format, Input-Encoding and
Output-Encoding JSON-1, Content-Type application/wasm, and the limits given) with --wallet, and
post it to the node (POST /tx), which keeps it as a gateway would. Spawn processes of it with
"actorweave spawn --module ID" or aoconnect's spawn.

The module id is printed as the last line.

Formats: wasm32-unknown-emscripten, -emscripten2, -emscripten3, -emscripten4 (and their
-metering variants). --memory-limit and --compute-limit become the Memory-Limit and Compute-Limit
tags; without them the node's defaults apply.`,
		Example: `  actorweave module publish testdata/build/wasm/aoslike.wasm --format wasm32-unknown-emscripten2 \
    --memory-limit 512-mb --compute-limit 9000000000000 --wallet wallet.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.resolve(cmd); err != nil {
				return err
			}
			if format == "" {
				return fmt.Errorf("--format is required (e.g. wasm32-unknown-emscripten2)")
			}
			if err := runtime.CheckFormat(format); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			if memoryLimit != "" {
				if _, err := runtime.ParseMemoryLimit(memoryLimit); err != nil {
					return fmt.Errorf("--memory-limit: %w", err)
				}
			}
			if computeLimit != "" {
				if _, err := runtime.ParseComputeLimit(computeLimit); err != nil {
					return fmt.Errorf("--compute-limit: %w", err)
				}
			}
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
				return fmt.Errorf("%s is not a WebAssembly binary (it does not start with \\0asm)", args[0])
			}
			if err := runtime.CheckModule(wasm, format); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			tags, err := o.messageTags()
			if err != nil {
				return err
			}
			c, err := o.client(true)
			if err != nil {
				return err
			}
			ctx, cancel := o.context(cmd)
			defer cancel()
			id, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: format, MemoryLimit: memoryLimit,
				ComputeLimit: computeLimit, Tags: tags})
			if err != nil {
				return o.nodeError(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "published %s (%d bytes, %s)\n", args[0], len(wasm), format)
			fmt.Fprintln(cmd.OutOrStdout(), id.String())
			return nil
		},
	}
	o.bindNode(cmd)
	o.bindWallet(cmd, "signing key, a JWK file made by \"actorweave keygen\" (ed25519 or RSA)")
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "Module-Format, e.g. wasm32-unknown-emscripten2")
	f.StringVar(&memoryLimit, "memory-limit", "", "Memory-Limit tag, e.g. 512-mb")
	f.StringVar(&computeLimit, "compute-limit", "", "Compute-Limit tag (gas), e.g. 9000000000000")
	f.StringArrayVar(&o.tags, "tag", nil, "an extra tag NAME=VALUE (repeatable)")
	return cmd
}
