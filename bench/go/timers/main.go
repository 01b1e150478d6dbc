// timers: N goroutines each sleep a random 1..max ms then wg.Done().
// Reports wall time, overshoot = wall - max, and per-sleep lateness percentiles.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"sync"
	"time"

	"goc-bench/benchutil"
)

func main() {
	n := flag.Int("n", 100000, "goroutines")
	maxMs := flag.Int("max", 100, "max sleep ms (uniform 1..max)")
	seed := flag.Int64("seed", 1, "rng seed")
	report := flag.String("report", "wall", "the value= field: wall (ms) or p99 (lateness, ms)")
	flag.Parse()
	r := rand.New(rand.NewSource(*seed))
	d := make([]time.Duration, *n)
	for i := range d {
		d[i] = time.Duration(1+r.Intn(*maxMs)) * time.Millisecond
	}
	late := make([]time.Duration, *n)
	began := make([]time.Duration, *n) // when each goroutine first ran, relative to start
	var wg sync.WaitGroup
	wg.Add(*n)
	start := time.Now()
	for i := 0; i < *n; i++ {
		go func(i int) {
			t0 := time.Now()
			began[i] = t0.Sub(start)
			time.Sleep(d[i])
			late[i] = time.Since(t0) - d[i]
			wg.Done()
		}(i)
	}
	spawnEl := time.Since(start)
	wg.Wait()
	el := time.Since(start)
	var lastBegan time.Duration
	for _, b := range began {
		if b > lastBegan {
			lastBegan = b
		}
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	pct := func(p float64) float64 {
		return float64(late[int(p*float64(len(late)-1))].Microseconds()) / 1000
	}
	wall := float64(el.Nanoseconds()) / 1e6
	if *report == "p99" {
		fmt.Printf("RESULT name=timers_p99 metric=late_p99_ms value=%.3f wall_ms=%.2f n=%d gomaxprocs=%d\n",
			pct(0.99), wall, *n, runtime.GOMAXPROCS(0))
		return
	}
	fmt.Printf("RESULT name=timers metric=wall_ms value=%.2f overshoot_ms=%.2f late_p50_ms=%.3f late_p99_ms=%.3f late_max_ms=%.3f spawn_loop_ms=%.2f last_start_ms=%.2f n=%d gomaxprocs=%d peak_rss_kb=%d\n",
		wall, wall-float64(*maxMs), pct(0.5), pct(0.99), pct(1.0),
		float64(spawnEl.Nanoseconds())/1e6, float64(lastBegan.Nanoseconds())/1e6, *n, runtime.GOMAXPROCS(0), benchutil.VM("VmHWM"))
}
