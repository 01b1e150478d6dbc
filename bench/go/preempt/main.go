// preempt: how late a light goroutine gets its ticks while 2*GOMAXPROCS
// goroutines compute without blocking. The spinners repeat the same
// integer step in a plain loop until a stop flag is set (Go preempts them
// asynchronously). The main goroutine reads a time.Ticker of -period_us
// until -n of its due times have passed and records, for each due time
// T_k = start + k*period, the time from T_k to the receive of the first
// tick sent at or after T_k (ticks the reader has not taken are dropped:
// those due times count until the next receive). The value is the p99
// lateness in microseconds; spin_mips is the spinners' iterations per
// second, in millions. A time.AfterFunc stops the spinners after -limit
// seconds (watchdog=1) in case the reader starves.
// Twin of bench/bench_preempt.c.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

var (
	stop, watchdogFired uint32
	spun, spinSink      uint64
)

// spin does one iteration's work, the C side's too: a 64-bit LCG step
// and an xorshift, a chain of dependent operations whose result is kept.
func spin(seed uint64, wg *sync.WaitGroup) {
	x, iters := seed+1, uint64(0)
	for atomic.LoadUint32(&stop) == 0 {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
		iters++
	}
	atomic.AddUint64(&spun, iters)
	for { // atomic xor, which sync/atomic lacks in Go 1.19
		old := atomic.LoadUint64(&spinSink)
		if atomic.CompareAndSwapUint64(&spinSink, old, old^x) {
			break
		}
	}
	wg.Done()
}

func main() {
	n := flag.Int("n", 1000, "due times of the ticker to measure")
	periodUs := flag.Int("period_us", 1000, "ticker period, microseconds")
	g := flag.Int("g", 0, "spinning goroutines (0: 2*GOMAXPROCS)")
	limit := flag.Int("limit", 10, "seconds before the watchdog stops the spinners")
	flag.Parse()
	procs := runtime.GOMAXPROCS(0)
	if *g <= 0 {
		*g = 2 * procs
	}
	late := make([]time.Duration, *n)
	time.AfterFunc(time.Duration(*limit)*time.Second, func() {
		if atomic.LoadUint32(&stop) == 0 {
			atomic.StoreUint32(&watchdogFired, 1)
			atomic.StoreUint32(&stop, 1)
		}
	})
	t0 := time.Now()
	var wg sync.WaitGroup
	wg.Add(*g)
	for i := 0; i < *g; i++ {
		go spin(uint64(i), &wg)
	}
	// Before the ticker is made: its due times are at or after ours.
	start := time.Now()
	period := time.Duration(*periodUs) * time.Microsecond
	tk := time.NewTicker(period)
	got := 0
	for k := 1; k <= *n; { // k: the first due time not yet covered
		sent := <-tk.C
		now := time.Now()
		got++
		for ; k <= *n && time.Duration(k)*period <= sent.Sub(start); k++ {
			late[k-1] = now.Sub(start) - time.Duration(k)*period
		}
	}
	tk.Stop()
	atomic.StoreUint32(&stop, 1)
	wg.Wait()
	el := time.Since(t0)
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	pct := func(p float64) float64 {
		return float64(late[int(p*float64(*n-1))].Nanoseconds()) / 1e3
	}
	fmt.Printf("RESULT name=preempt metric=tick_p99_us value=%.1f p50_us=%.1f max_us=%.1f ticks=%d received=%d period_us=%d spinners=%d spin=loop spin_mips=%.1f watchdog=%d gomaxprocs=%d\n",
		pct(0.99), pct(0.5), pct(1.0), *n, got, *periodUs, *g,
		float64(atomic.LoadUint64(&spun))/el.Seconds()/1e6,
		atomic.LoadUint32(&watchdogFired), procs)
}
