// Package bench holds the reproducible benchmarks behind `actorweave bench`: one Run* function per
// scenario (append, ingest, eval, pingpong, fanout, activation, scale, flush, cron, loop, forward,
// cluster, token, hostile) and the small framework they share — Report (parameters, figures as named values with
// units, latency distributions, throughput series, CPU time, peak RSS, load average, the machine),
// its summary table, JSON file and plot (report.go, plot.go), and Progress (a bar on a terminal,
// periodic lines otherwise, sampled into the report's throughput series).
//
// What a scenario asks of a process in an owner's Eval is a Program (program.go), picked from the
// module's bytes: the aos-like Lua source for --module builds, or a command of the embedded
// benchmark module's fixed vocabulary (bench/benchmodule, the default module, our own C built
// with emscripten and committed), so that the scenarios run without `make deps` (flush still needs
// a gateway).
//
// A scenario is a function from its Config to a *Report: it starts with NewReport, records Params,
// Figures and Latencies (AddLatency), counts its work with StartProgress, and ends with Finish. The
// verb in cmd/actorweave registers itself (registerBenchScenario) with smoke arguments and key
// figures, and CI runs every registered scenario briefly.
//
// Benchmarks measure and report; they never pass or fail on a time. This package must not hold
// logic the node needs: it drives a node (in-process, by URL, or as a child process of this binary:
// childnode.go, whose CPU and memory it reads from /proc) only through its HTTP API and public
// packages.
package bench
