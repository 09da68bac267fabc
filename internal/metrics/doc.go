// Package metrics is the telemetry of scheduled mode (`groupsync run
// --listen`): the Prometheus collectors behind /metrics and the health
// verdict behind /healthz.
//
// Invariants:
//
//   - Collectors live in the Set's own prometheus.Registry; nothing is
//     registered with the global default registry, so two Sets (two tests)
//     never collide.
//   - Label values come from fixed vocabularies (run outcomes, change kinds,
//     vendor and call names, attempt outcomes): never a token, a URL, a
//     group key or a member id.
//   - Health is unhealthy only when runs have been failing without a success
//     in between for longer than the window; before the first run, and
//     while the latest run succeeded, it is healthy.
package metrics
