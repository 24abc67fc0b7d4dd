// Package bundlershim is a small bundler in front of an Arweave gateway, for tests and benchmarks of
// the bundler upload path: arlocal has no bundler endpoint (it refuses a lone data item at POST /tx),
// so this accepts one data item per POST /tx (or /tx/{currency}) as application/octet-stream,
// verifies it, and bundles what arrives within a short window into one L1 transaction posted to the
// gateway through arweave.L1 (the node's own L1 path). It answers each item only once its bundle is
// on the gateway, and answers an id it already posted with 200 without posting it again, as
// bundlers deduplicate by id.
//
// It must not be used by the node: it stands in for a real bundler (Turbo, up.arweave.net).
package bundlershim
