//go:build !race

package yunzhijia

const raceEnabled = false
