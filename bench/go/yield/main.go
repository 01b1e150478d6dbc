// yield: two goroutines (main and one other) hand the only P back and
// forth with runtime.Gosched, n yields in all.  Twin of bench/bench_yield.c.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int64("n", 10000000, "yields in all")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	var childDone int32
	start := time.Now()
	go func() {
		for i := int64(0); i < *n/2; i++ {
			runtime.Gosched()
		}
		atomic.StoreInt32(&childDone, 1)
	}()
	for i := int64(0); i < *n/2; i++ {
		runtime.Gosched()
	}
	for atomic.LoadInt32(&childDone) == 0 {
		runtime.Gosched()
	}
	el := time.Since(start)
	fmt.Printf("RESULT name=yield metric=ns_per_yield value=%.1f n=%d gomaxprocs=%d\n",
		float64(el.Nanoseconds())/float64(*n), *n, runtime.GOMAXPROCS(0))
}
