// sleepers: N goroutines that each sleep one second, then exit; main
// waits for all. The wall time and the peak RSS. Twin of
// bench/bench_sleepers.c.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	"goc-bench/benchutil"
)

func main() {
	n := flag.Int("n", 100000, "goroutines")
	flag.Parse()
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go func() {
			time.Sleep(time.Second)
			wg.Done()
		}()
	}
	spawned := time.Since(t0)
	wg.Wait()
	el := time.Since(t0)
	fmt.Printf("RESULT name=sleepers metric=wall_ms value=%.1f n=%d spawn_ms=%.1f peak_rss_kb=%d gomaxprocs=%d\n",
		float64(el.Nanoseconds())/1e6, *n, float64(spawned.Nanoseconds())/1e6,
		benchutil.VM("VmHWM"), runtime.GOMAXPROCS(0))
}
