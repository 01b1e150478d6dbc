// httphello over net/http, for reference only: the usual way to write the
// server in Go, with the work net/http does per request (header map,
// request and response objects, a Date header). bench/go/httphello is
// the twin that does the same work as the C side.
package main

import (
	"flag"
	"net/http"

	"goc-bench/benchutil"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	life := flag.Int("life", 120, "exit after this many seconds")
	flag.Parse()
	benchutil.RaiseNofile()
	ln := benchutil.Listen(*addr)
	benchutil.ExitAfter("httphello_nethttp", *life)
	body := []byte("Hello, World!")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	http.Serve(ln, nil)
}
