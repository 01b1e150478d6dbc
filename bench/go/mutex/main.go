// mutex: G goroutines increment a shared counter N times total, either under
// sync.Mutex (-mode=mutex) or with atomic.AddInt64 (-mode=atomic).
// Twin of bench/bench_mutex.c and bench/bench_atomic.c.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 10000000, "total increments")
	g := flag.Int("g", 8, "goroutines")
	mode := flag.String("mode", "mutex", "mutex|atomic")
	flag.Parse()
	per := *n / *g
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(*g)
	for i := 0; i < *g; i++ {
		switch *mode {
		case "mutex":
			go func() {
				for j := 0; j < per; j++ {
					mu.Lock()
					counter++
					mu.Unlock()
				}
				wg.Done()
			}()
		case "atomic":
			go func() {
				for j := 0; j < per; j++ {
					atomic.AddInt64(&counter, 1)
				}
				wg.Done()
			}()
		default:
			fmt.Fprintln(os.Stderr, "bad mode")
			os.Exit(2)
		}
	}
	wg.Wait()
	el := time.Since(start)
	total := int64(per * *g)
	if counter != total {
		panic("bad counter")
	}
	fmt.Printf("RESULT name=%s metric=ns_per_op value=%.2f n=%d goroutines=%d gomaxprocs=%d\n",
		*mode, float64(el.Nanoseconds())/float64(total), total, *g, runtime.GOMAXPROCS(0))
}
