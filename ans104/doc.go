// Package ans104 owns ANS-104 data items and bundles: parsing, serialising, the deep hash, signing and
// verifying (Arweave RSA-PSS, ed25519, Ethereum secp256k1), and the AO tag schema (typed views of
// Process, Message, Module, Assignment and Checkpoint items).
//
// It must not do I/O: callers hand it bytes and keys and get bytes, values and typed errors back.
package ans104
