//go:build race

package match

// raceEnabled: the race detector slows the library tenfold; the
// comparison sweeps, which run on one goroutine, are cut down under it.
const raceEnabled = true
