// Package compute holds the compute unit's pure functions: what a process's module is given for
// each entry of its log (the message and env JSON, built exactly as the reference compute unit
// builds them), the limits it runs under (LimitsFor), and how a module's reply becomes the result
// the CU API serves. A node's evaluator and verify both take these from here, so that a
// recomputation outside any node evaluates exactly as the node did.
//
// It must not evaluate, store or send anything: the actors call these functions around the
// runtime and the store.
package compute
