// Package api owns the HTTP routes of the node: the MU, SU and CU APIs and the gateway subset
// aoconnect needs, and the mapping of errors to status codes.
//
// It must not contain business rules.
package api
