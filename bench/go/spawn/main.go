// spawn: start N goroutines that each call wg.Done(); wait for all.
// Twin of bench/bench_spawn.c.
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
	n := flag.Int("n", 1000000, "goroutines")
	flag.Parse()
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("RESULT name=spawn metric=ns_per_goroutine value=%.1f n=%d total_ms=%.2f gomaxprocs=%d peak_rss_kb=%d\n",
		float64(el.Nanoseconds())/float64(*n), *n, float64(el.Nanoseconds())/1e6, runtime.GOMAXPROCS(0), benchutil.VM("VmHWM"))
}
