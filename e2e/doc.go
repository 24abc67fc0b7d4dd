// Package e2e holds end-to-end tests that drive a real node over loopback HTTP with the public
// client libraries of AO: the unmodified @permaweb/aoconnect from npm, run under Node.js (installed
// by `make deps`). The package has no code of its own; the tests start a node in-process
// (node.Start) and talk to it only over HTTP.
package e2e
