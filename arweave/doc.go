// Package arweave owns actorweave's side of Arweave: the on-Arweave format of what a node flushes
// (FORMAT.md: log batches, checkpoints, standalone items), the two upload paths, and a small gateway
// reader.
//
// Upload paths (both produce an Upload, whose bytes are signed once and can be posted again as they
// are, which is what makes the flush exactly-once across crashes):
//   - L1: the data items are bundled (ANS-104 binary) into one Arweave transaction signed by an RSA
//     wallet and posted to an Arweave node or gateway (POST /tx, data inline), as arlocal accepts.
//   - Bundler: each data item is posted alone to a bundler (POST {url}/tx, octet-stream), as the
//     reference ao SU and HyperBEAM upload.
//
// The reader (gateway.go) pages GraphQL by tags, asks GraphQL by ids and reads raw data with
// GET /{id}.
//
// It must not touch the node's store or decide what to flush: package flush does that. goar is used
// only to sign L1 transactions (data root and RSA-PSS signature); its HTTP client is not used (it
// changes http.DefaultClient and prints to stdout).
package arweave
