// Package weavedrive is a node's WeaveDrive: the runtime.Drive that answers the /data/<id>,
// /tx/<id> and /block/<height> reads of aos modules (docs/wasm-abi.md §3.1) from an Arweave
// gateway, through a cache in the node's store keyed by content id (persistence/weavedrive.go), so
// that replay, recovery and `actorweave verify` read the same bytes without the network.
//
// It owns admission (admission.go: the reference drive's rules as a pure function, its GraphQL
// queries run against the gateway), the cache's bound and eviction, and every gateway read's
// deadline. A read a process was admitted to at block height h is admitted again at any height
// from h without the gateway (the attestation found lies at or below h).
//
// It must not evaluate anything or know about actors: callers (the node's evaluator, dry-runs,
// verify) build a drive per process with Drives.For and hand it to runtime.Instance.SetDrive.
package weavedrive
