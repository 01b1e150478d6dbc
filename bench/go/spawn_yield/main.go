// spawn_yield: main starts n goroutines that each yield once and finish,
// then waits (yielding) until all have counted themselves done.
// Twin of bench/bench_spawn_yield.c.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"goc-bench/benchutil"
)

func main() {
	n := flag.Int64("n", 1000000, "goroutines")
	flag.Parse()
	var done int64
	start := time.Now()
	for i := int64(0); i < *n; i++ {
		go func() {
			runtime.Gosched()
			atomic.AddInt64(&done, 1)
		}()
	}
	for atomic.LoadInt64(&done) < *n {
		runtime.Gosched()
	}
	el := time.Since(start)
	fmt.Printf("RESULT name=spawn_yield metric=ns_per_goroutine value=%.1f n=%d total_ms=%.2f gomaxprocs=%d peak_rss_kb=%d\n",
		float64(el.Nanoseconds())/float64(*n), *n, float64(el.Nanoseconds())/1e6,
		runtime.GOMAXPROCS(0), benchutil.VM("VmHWM"))
}
