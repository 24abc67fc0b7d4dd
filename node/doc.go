// Package node assembles one actorweave node: it opens the Pebble store and the node key, starts the
// wazero engine and the process actors, and serves the HTTP API, implementing api.Backend on top of
// them. It translates between the packages (their errors into the API's status classes, stored
// records into API records) and holds no rule of its own.
//
// It must not contain scheduling, evaluation or delivery logic: those belong to scheduler,
// compute, messenger and actors.
package node
