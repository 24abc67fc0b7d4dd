package main

import (
	"strconv"

	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/node"
)

// bindRecoveryFlags registers the recovery flags of `actorweave node`.
func bindRecoveryFlags(f *pflag.FlagSet, c *node.RecoveryConfig) {
	d := node.DefaultRecoveryConfig()
	c.Timeout, c.AbsentTTL, c.MaxDataBytes, c.Retry = d.Timeout, d.AbsentTTL, d.MaxDataBytes, d.Retry
	f.Var(&enabledFlag{disabled: &c.Disabled}, "recover-from-gateway", "asked about a process it does not hold, rebuild it from the gateway (--gateway, or --recover-gateway) first")
	f.Lookup("recover-from-gateway").NoOptDefVal = "true"
	f.StringVar(&c.Gateway, "recover-gateway", "", "gateway to recover processes from (default: --gateway)")
	f.DurationVar(&c.Timeout, "recover-timeout", c.Timeout, "bound of one recovery from the gateway")
	f.DurationVar(&c.AbsentTTL, "recover-absent-ttl", c.AbsentTTL, "how long a process the gateway does not have is not asked for again")
	f.IntVar(&c.MaxDataBytes, "recover-max-data-bytes", c.MaxDataBytes, "largest download accepted from the gateway during a recovery")
	f.IntVar(&c.Retry.Attempts, "recover-attempts", c.Retry.Attempts, "tries of one gateway read during a recovery (network errors, 429, 5xx are retried)")
}

// enabledFlag is a boolean flag stored inverted (the config says Disabled, the flag says on).
type enabledFlag struct{ disabled *bool }

func (e *enabledFlag) String() string {
	if e.disabled == nil {
		return "true"
	}
	return strconv.FormatBool(!*e.disabled)
}

func (e *enabledFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*e.disabled = !v
	return nil
}

func (e *enabledFlag) Type() string { return "bool" }
