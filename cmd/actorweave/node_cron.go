package main

import (
	"github.com/spf13/pflag"

	"github.com/actorweave/actorweave/actors"
	"github.com/actorweave/actorweave/cron"
)

// bindCronFlags adds the cron and per-process quota flags of `actorweave node`.
func bindCronFlags(f *pflag.FlagSet, a *actors.Config) {
	f.Var((*policyFlag)(&a.CronCatchUp), "cron-catch-up", "cron ticks missed while the node was down: all (appended in order, as the reference CU generates them), latest (only the latest of each cron) or none (skipped)")
	f.IntVar(&a.CronWorkers, "cron-workers", a.CronWorkers, "cron wake-ups (tick requests to processes) in flight at once")
	f.IntVar(&a.CronMaxTicks, "cron-max-ticks", a.CronMaxTicks, "most ticks of one cron appended per wake-up (a long catch-up takes several)")
	f.Float64Var(&a.MaxReceiveRate, "max-receive-rate", a.MaxReceiveRate, "messages per second one process accepts (cron ticks excepted); more are refused with 429, pushes retried later")
	f.Float64Var(&a.MaxSendRate, "max-send-rate", a.MaxSendRate, "outbox pushes per second of one process; more are delayed (in order, nothing dropped)")
	f.Float64Var(&a.MaxSpawnsPerMinute, "max-spawns-per-minute", a.MaxSpawnsPerMinute, "spawns per minute one process's outboxes may deliver; more are delayed")
	f.IntVar(&a.MaxQueuedPushes, "max-queued-pushes", a.MaxQueuedPushes, "most undelivered pushes of one process; pushes beyond are rejected and recorded in the result")
}

type policyFlag cron.Policy

func (p *policyFlag) String() string { return cron.Policy(*p).String() }
func (p *policyFlag) Type() string   { return "all|latest|none" }
func (p *policyFlag) Set(s string) error {
	v, err := cron.ParsePolicy(s)
	if err != nil {
		return err
	}
	*p = policyFlag(v)
	return nil
}
