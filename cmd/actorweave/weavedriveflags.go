package main

import (
	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/weavedrive"
)

// bindWeaveDriveFlags registers the WeaveDrive flags of `actorweave node`.
func bindWeaveDriveFlags(f *pflag.FlagSet, c *weavedrive.Config, gatewayDefault string) {
	d := weavedrive.DefaultConfig()
	c.Timeout, c.ReadBudget, c.CacheBytes = d.Timeout, d.ReadBudget, d.CacheBytes
	f.Var(&enabledFlag{disabled: &c.Disabled}, "weavedrive", "answer processes' WeaveDrive reads (/data/<id>, /tx/<id>, /block/<height>) from the gateway through a cache in the store")
	f.Lookup("weavedrive").NoOptDefVal = "true"
	f.StringVar(&c.Gateway, "weavedrive-gateway", "", "gateway WeaveDrive reads from (default: "+gatewayDefault+")")
	f.DurationVar(&c.Timeout, "weavedrive-timeout", c.Timeout, "bound of each WeaveDrive request to the gateway (the message's deadline bounds it too)")
	f.Int64Var(&c.ReadBudget, "weavedrive-read-budget", c.ReadBudget, "bytes one message of a process may read through WeaveDrive (more is an Error result)")
	f.Int64Var(&c.CacheBytes, "weavedrive-cache-bytes", c.CacheBytes, "bytes the WeaveDrive cache in the store may hold (the oldest contents not being read are dropped; a message reading a larger item waits, unevaluated, for a larger cache)")
}
