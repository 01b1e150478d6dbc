// park: N goroutines block receiving from one shared channel; the RSS it
// took, per parked goroutine; then the channel is closed and all join.
// Twin of bench/bench_park.c.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"goc-bench/benchutil"
)

func main() {
	n := flag.Int("n", 100000, "goroutines to park")
	flag.Int("compact", 0, "the C side's stack compaction; Go has none: ignored")
	flag.Parse()
	ch := make(chan struct{})
	var wg sync.WaitGroup
	var ready int64
	runtime.GC()
	base := runtime.NumGoroutine()
	rss0, pte0 := benchutil.VM("VmRSS"), benchutil.VM("VmPTE")
	t0 := time.Now()
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go func() {
			atomic.AddInt64(&ready, 1)
			<-ch // until the close
			wg.Done()
		}()
	}
	for atomic.LoadInt64(&ready) != int64(*n) {
		time.Sleep(time.Millisecond)
	}
	spawnEl := time.Since(t0)
	time.Sleep(50 * time.Millisecond) // the last ones reach their receive
	parked := runtime.NumGoroutine() - base
	rss1, pte1 := benchutil.VM("VmRSS"), benchutil.VM("VmPTE")
	if parked != *n {
		fmt.Fprintf(os.Stderr, "NumGoroutine delta %d != %d\n", parked, *n)
		os.Exit(1)
	}
	t1 := time.Now()
	close(ch)
	wg.Wait()
	joinEl := time.Since(t1)
	fmt.Printf("RESULT name=park metric=rss_bytes_per_goroutine value=%.0f n=%d parked=%d rss0_kb=%d rss1_kb=%d spawn_park_ms=%.1f join_ms=%.1f gomaxprocs=%d peak_rss_kb=%d pte_bytes_per_goroutine=%.0f compact_ms=0.0\n",
		float64(rss1-rss0)*1024/float64(*n), *n, parked, rss0, rss1,
		float64(spawnEl.Nanoseconds())/1e6, float64(joinEl.Nanoseconds())/1e6,
		runtime.GOMAXPROCS(0), benchutil.VM("VmHWM"),
		float64(pte1-pte0)*1024/float64(*n))
}
