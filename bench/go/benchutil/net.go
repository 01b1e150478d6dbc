package benchutil

// What the network twins share with bench/bench_net.h: the servers print
// the address they listen on as their first line, raise the descriptor
// limit, and stop by themselves after a while.

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// RaiseNofile sets the soft descriptor limit to the hard one. Go 1.19's
// runtime does it already; the call says so and matches the C side.
func RaiseNofile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// Listen listens on addr and prints the address it got, alone on the
// first line of output (os.Stdout is not buffered).
func Listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	return ln
}

// ExitAfter ends the process after secs seconds: a server nobody stopped
// goes away by itself.
func ExitAfter(name string, secs int) {
	time.AfterFunc(time.Duration(secs)*time.Second, func() {
		fmt.Fprintf(os.Stderr, "%s: life bound of %d s reached\n", name, secs)
		os.Exit(0)
	})
}

// Serve runs handle in a goroutine per connection accepted on addr, after
// printing the address, until the process ends (ExitAfter's bound).
func Serve(name, addr string, life int, handle func(net.Conn)) {
	RaiseNofile()
	ln := Listen(addr)
	ExitAfter(name, life)
	for {
		c, err := ln.Accept()
		if err != nil { // net's Accept retries ECONNABORTED itself
			fmt.Fprintln(os.Stderr, "accept:", err)
			os.Exit(1)
		}
		go handle(c)
	}
}
