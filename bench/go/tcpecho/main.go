// tcpecho server: one goroutine per connection, each reading into a
// 64-byte buffer and writing back what it read, until end of stream.
// Twin of bench/bench_tcpecho.c; bench_tcpecho_client drives both.
package main

import (
	"flag"
	"net"

	"goc-bench/benchutil"
)

// echo is io.Copy(c, c) with the C side's 64-byte buffer.
func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	life := flag.Int("life", 120, "exit after this many seconds")
	flag.Parse()
	benchutil.Serve("tcpecho", *addr, *life, echo)
}
