// httphello server: a minimal HTTP/1.1 keep-alive responder on plain net,
// one goroutine per connection. Twin of bench/bench_httphello.c: the same
// work (read up to "\r\n\r\n", one fixed response, close on
// "Connection: close" or end of stream), so that the runtimes are what is
// compared. net/http would be slower: it parses every header into a map,
// allocates a request and a response writer per request, and adds a Date
// header; bench/go/httphello_nethttp is that version, for reference.
package main

import (
	"bytes"
	"flag"
	"net"

	"goc-bench/benchutil"
)

const reqBuf = 1024 // the C side's too

var response = []byte("HTTP/1.1 200 OK\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Length: 13\r\n" +
	"\r\n" +
	"Hello, World!")

var connectionName = []byte("connection:")
var closeValue = []byte("close")

// wantsClose: does the header block req (ending in "\r\n\r\n") carry
// "Connection: close"? Names and the value in any case.
func wantsClose(req []byte) bool {
	for {
		i := bytes.IndexByte(req, '\n')
		if i < 0 || i+1 >= len(req) {
			return false
		}
		req = req[i+1:]
		if len(req) < len(connectionName) || !bytes.EqualFold(req[:len(connectionName)], connectionName) {
			continue
		}
		v := bytes.TrimLeft(req[len(connectionName):], " \t")
		return len(v) >= len(closeValue) && bytes.EqualFold(v[:len(closeValue)], closeValue)
	}
}

// answer answers every whole request at the front of buf[:have] and
// moves the rest to the front. It returns the bytes left and whether the
// connection goes on.
func answer(c net.Conn, buf []byte, have int) (int, bool) {
	at, keep := 0, true
	for keep {
		blank := bytes.Index(buf[at:have], []byte("\r\n\r\n"))
		if blank < 0 {
			break
		}
		n := blank + 4
		keep = !wantsClose(buf[at : at+n])
		if _, err := c.Write(response); err != nil {
			return 0, false
		}
		at += n
	}
	have = copy(buf, buf[at:have])
	return have, keep && have < len(buf) // a full buffer: headers too long
}

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, reqBuf)
	have, keep := 0, true
	for keep {
		n, err := c.Read(buf[have:])
		if n == 0 || err != nil {
			return // end of stream, or a reset
		}
		have, keep = answer(c, buf, have+n)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	life := flag.Int("life", 120, "exit after this many seconds")
	flag.Parse()
	benchutil.Serve("httphello", *addr, *life, serve)
}
