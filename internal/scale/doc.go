// Package scale is the scale benchmark of SPEC section 6: it builds a
// manifest and a simulated vendor world of G groups x M members with a
// chosen drift, then times a plan (Observe, SaveReads, Build, with the
// state on disk) and an apply over real HTTP against the vendor simulators,
// with injected latency, parallelism and a client rate limit.
//
// Invariants:
//
//   - A Scenario alone decides the world: which groups are missing, which
//     members each group lacks and which notices are new follow from the
//     group index, so MinCalls is computed from the scenario and never from
//     a plan or the simulators.
//   - Calls are counted by the simulators (every request they received,
//     faulted or not), not by the client.
//   - The simulators run in a child process (this test binary again, see
//     SimMain), so that peak_rss is groupsync's own; the simulators' peak
//     is reported apart as sim_rss.
//   - The manifest is built directly as a resolved spec.Manifest, equal to
//     what spec.Load makes of the YAML that Scenario.YAML writes (a test
//     checks it on a small scenario).
//   - Timings are reported, never asserted: tests assert call counts and
//     convergence only.
//   - RunCLI (the whole-command benchmark) runs the real groupsync binary
//     on the scenario's manifest written as YAML files: each step is a
//     child process, measured by its rusage, and makes exactly its share
//     of MinCalls.
package scale
