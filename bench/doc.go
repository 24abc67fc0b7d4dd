// Package bench holds the reproducible benchmarks behind `actorweave bench`.
//
// Benchmarks measure and report; they never pass or fail on a time.
package bench
