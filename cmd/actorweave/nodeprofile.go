package main

import (
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// withCPUProfile adds --cpuprofile FILE to the node verb: a Go CPU profile of the node from start
// to its shutdown (SIGTERM), for `go tool pprof`. `bench cluster --node-cpuprofile DIR` uses it to
// see where a clustered node's CPU goes.
func withCPUProfile(cmd *cobra.Command) {
	var path string
	cmd.Flags().StringVar(&path, "cpuprofile", "", "write a Go CPU profile of the node, until it stops, to this file (go tool pprof)")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if path == "" {
			return run(c, args)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		return run(c, args)
	}
}
