// Command actorweave is the one binary of the project: a node, the everyday client verbs, and the
// tools (eval, verify, bench). Each verb lives in its own file; this file only assembles them.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "actorweave:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "actorweave",
		Short:         "A clustered runtime for AO, the Actor Oriented computer on Arweave",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newNodeCmd(),
		newKeygenCmd(),
		newDelegateCmd(),
		newItemCmd(),
		newModuleCmd(),
		newSpawnCmd(),
		newSendCmd(),
		newResultCmd(),
		newDryrunCmd(),
		newEvalCmd(),
		newBenchCmd(),
		newVerifyCmd(),
		newClusterCmd(),
	)
	return root
}
