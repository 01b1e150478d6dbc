// after: a receive with a timeout that never fires, n times: a sender
// goroutine feeds an unbuffered channel, the receiver selects on it and on
// time.After(1s) (a timer and a channel allocated each time).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"goc-bench/benchutil"
)

func main() {
	n := flag.Int64("n", 1000000, "receives")
	flag.Parse()
	c := make(chan int64)
	go func() {
		for i := int64(0); i < *n; i++ {
			c <- i
		}
	}()
	var sum int64
	start := time.Now()
	for i := int64(0); i < *n; i++ {
		select {
		case v := <-c:
			sum += v
		case <-time.After(time.Second):
			fmt.Fprintln(os.Stderr, "timed out")
			os.Exit(1)
		}
	}
	el := time.Since(start)
	if sum != *n*(*n-1)/2 {
		fmt.Fprintln(os.Stderr, "bad sum")
		os.Exit(1)
	}
	fmt.Printf("RESULT name=after metric=ns_per_op value=%.1f n=%d gomaxprocs=%d peak_rss_kb=%d\n",
		float64(el.Nanoseconds())/float64(*n), *n, runtime.GOMAXPROCS(0), benchutil.VM("VmHWM"))
}
