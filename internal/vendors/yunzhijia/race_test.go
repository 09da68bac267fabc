//go:build race

package yunzhijia

// raceEnabled: the race detector slows large tests tenfold.
const raceEnabled = true
