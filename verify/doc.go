// Package verify recomputes a process from an Arweave gateway alone and compares it with what a
// node serves: the claim of the whole system is that anyone can check a computation.
//
// Run reads the process back with package recovery into a temporary store (every signature, the
// hash chain, the Scheduler, epochs; the module; checkpoints), evaluates every entry through the
// node's own evaluation pipeline (package evaluation: compute's message and env, compute.LimitsFor,
// the rule for a failed instance), and reports, per checkpoint, the recomputed memory SHA-256
// against the checkpoint's tag, per message the recomputed result against the node's GET /result
// (Messages, Spawns, Assignments, Output, Error as canonical JSON), and at the end the final memory
// against the node's GET /state.
// Render prints the report as a table; the report's OK is what the exit status says.
//
// It must not write to the node or to the gateway, and must not trust either: everything it
// compares is recomputed from signed data. The one exception is what processes read through
// WeaveDrive (weavedrive/, Config.WeaveDrive): those bytes come from the gateway as it serves them,
// like the module's when the gateway cannot give its signature back.
package verify
