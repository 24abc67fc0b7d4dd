// Package arlocal starts and stops arlocal, a real local Arweave gateway from npm (arlocal 1.1.66,
// installed into testdata/arlocal by scripts/deps.d/30-arlocal.sh), for the tests and benchmarks of
// the Arweave flush. It follows docs/design.md §6: loopback only (a preload wraps
// net.Server.listen, arlocal has no host flag), a per-instance database folder (never the shared
// default ~/.arlocal/.db, which a second instance would wipe), on tmpfs when there is one (sqlite's
// autocommit fsyncs make arlocal ~4x slower on disk).
//
// It must not be used by the node itself: it is a test and benchmark harness.
package arlocal
