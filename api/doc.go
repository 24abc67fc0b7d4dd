// Package api owns the HTTP routes of the node: the MU, SU and CU APIs and the gateway subset
// aoconnect needs (legacy mode), the AO-Core (HyperBEAM) paths of aoconnect's mainnet mode and
// aos 2.x (mainnet.go), the verification of the requests' signatures (ANS-104 items, RFC 9421 HTTP
// signatures: httpsig.go), and the mapping of errors to status codes.
//
// It must not contain business rules.
package api
