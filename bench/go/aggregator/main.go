// aggregator: an HTTP front whose handler asks three backends at once and
// answers with their combined bodies. Twin of bench/bench_aggregator.c:
// all four servers in one process on net/http, the front's calls through
// one http.Client whose Transport keeps up to 256 idle connections per
// backend (the C side's max_idle_per_host), so that under load every call
// reuses a connection. wrk drives the front (bench/run.sh, aggregator_c100).
//
// Each front request: a context of 1 s under r.Context(), a goroutine per
// backend doing a GET and reading the body, a wait for the three
// (sync.WaitGroup), then one 200 response
//
//	{"users":{...},"orders":{...},"prices":{...}}
//
// or a 502 naming the first failure. The backends answer a fixed JSON body
// at once.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"goc-bench/benchutil"
)

var names = []string{"users", "orders", "prices"}
var bodies = [][]byte{
	[]byte(`{"service":"users","items":[{"id":1,"name":"ada"},{"id":2,"name":"grace"}]}`),
	[]byte(`{"service":"orders","items":[{"id":7,"user":1,"total":42}]}`),
	[]byte(`{"service":"prices","items":[{"sku":"go","cents":1999}]}`),
}

type call struct {
	body []byte
	err  error
}

func fetch(ctx context.Context, client *http.Client, url string, c *call) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		c.err = err
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		c.err = err
		return
	}
	c.body, c.err = io.ReadAll(resp.Body)
	if c.err == nil && resp.StatusCode != 200 {
		c.err = fmt.Errorf("status %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	life := flag.Int("life", 120, "exit after this many seconds")
	flag.Parse()
	benchutil.RaiseNofile()

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0 // no limit over all hosts: the per-host one counts
	tr.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: tr}

	urls := make([]string, len(names))
	for i := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			os.Exit(1)
		}
		urls[i] = "http://" + ln.Addr().String() + "/"
		body := bodies[i]
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})
		go http.Serve(ln, h)
	}

	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		var calls [3]call
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				fetch(ctx, client, urls[i], &calls[i])
			}(i)
		}
		wg.Wait()
		var out bytes.Buffer
		out.WriteByte('{')
		for i := range calls {
			if calls[i].err != nil {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintf(w, "%s: %v\n", names[i], calls[i].err)
				return
			}
			if i > 0 {
				out.WriteByte(',')
			}
			fmt.Fprintf(&out, "%q:", names[i])
			out.Write(calls[i].body)
		}
		out.WriteByte('}')
		w.Header().Set("Content-Type", "application/json")
		w.Write(out.Bytes())
	})
	ln := benchutil.Listen(*addr)
	benchutil.ExitAfter("aggregator", *life)
	http.Serve(ln, front)
}
