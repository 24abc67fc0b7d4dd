package main

import (
	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/flush"
)

// bindFlushFlags registers the Arweave flush flags of `actorweave node`.
func bindFlushFlags(f *pflag.FlagSet, c *flush.Config) {
	f.StringVar(&c.Gateway, "gateway", c.Gateway, "Arweave node or gateway URL: logs, checkpoints and items are flushed there as L1 bundle transactions signed by --wallet (and, with --bundler, asked whether an interrupted upload landed)")
	f.StringVar(&c.Wallet, "wallet", c.Wallet, "RSA Arweave wallet (JWK) that signs and pays for the L1 transactions of --gateway")
	f.StringVar(&c.Bundler, "bundler", c.Bundler, "bundler URL: flush by posting each data item to {url}/tx instead of L1 transactions")
	f.IntVar(&c.MaxBytes, "flush-max-bytes", c.MaxBytes, "largest upload (bundle) in bytes; more waiting goes in the next upload at once")
	f.DurationVar(&c.Interval, "flush-interval", c.Interval, "how often new log entries are uploaded")
	f.DurationVar(&c.RetryMax, "flush-retry-max", c.RetryMax, "longest wait between attempts of a failed upload (exponential backoff; every error is retried for ever)")
	f.DurationVar(&c.DegradedAfter, "flush-degraded-after", c.DegradedAfter, "/healthz answers 503 degraded when the oldest log entry not on Arweave is older than this, or an upload has been failing for longer")
}
