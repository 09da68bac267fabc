// Package reliability holds no code: it is the home of groupsync's
// reliability suite (SPEC sections 4 and 6), tests that prove that vendor
// faults, a kill -9 at any point of an apply, concurrent applies and leaked
// secrets lose nothing and duplicate nothing.
//
// The tests run the real pieces end to end: the vendor simulators behind
// httptest servers, the real clients and transport over HTTP, a real SQLite
// state file, and, for crashes, locks and secrets, the groupsync binary
// built once per test run and run as a child process.
//
//   - fault_test.go: 503s, 429s, timeouts, connection resets and lost
//     answers on every call; repeated plan and apply loops must converge
//     with no duplicate group, notice or banner, every unknown outcome
//     surfaced in the plan and resolved the way the plan's fix says; and
//     creates the vendor carries out after the client timed out.
//   - crash_test.go: SIGKILL at random points of `groupsync apply`, then
//     rerun, resolve as the plan instructs and converge; also against
//     vendors that carry out creates late, after the kill, where no create
//     of unknown outcome may be concluded "not made" before it settled.
//   - lock_test.go: two applies on one state file; one fails fast naming
//     the lock.
//   - secrets_test.go: every command, failing ones included, with a
//     distinctive token that must appear in no output, plan or state byte.
//
// Invariants the suite checks after every step: at most one vendor group per
// manifest name, each distinct notice and banner posted at most once per
// group, PRAGMA integrity_check ok, and every open intent of the state shown
// in the next plan (never guessed, never silently dropped).
//
// `make test` runs it at a CI size; `make soak` (GROUPSYNC_SOAK=1) runs it
// bigger: more kill points, higher fault rates.
package reliability
