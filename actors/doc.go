// Package actors owns the Proto.Actor actors: ProcessActor (scheduler and evaluator of one process),
// the outbox pusher, the cron ticker and passivation.
//
// It must not parse HTTP.
package actors
