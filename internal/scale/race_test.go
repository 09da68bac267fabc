//go:build race

package scale

// raceEnabled: the race detector slows the large worlds tenfold.
const raceEnabled = true
