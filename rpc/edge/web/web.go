// Package web holds the booking page an edge serves: plain HTML, CSS and
// JavaScript modules (no build step), embedded in the binary, that talk to
// the edge's BookingService (Connect protocol, JSON) and waiting room API.
//
// The page lists the departures that have not left, with times in each
// one's time zone; shows a departure's categories at their current price
// and tier with quantity steppers, and its seat map as a grid; puts tickets
// of several categories and departures into one order with a voucher code
// and a running total; holds the order as one hold and checks it out with
// the server's total and discount, a countdown and a way to extend it,
// confirming with a payment reference. The hold is kept across reloads by
// its id and client_secret in the browser. A sold-out departure offers its
// waitlist; a gated one queues the shopper in its waiting room. Refusals
// are told in sentences for shoppers, never as API text.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the page's files; every path that names no file gets the
// page itself, so links such as /#/event/ev1 and /booking/bk1 load it.
// Only GET and HEAD are the page's: anything else (a call of a service the
// edge does not serve, say) is answered 404, which Connect and gRPC
// clients read as UNIMPLEMENTED.
func Handler() http.Handler {
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		if _, err := fs.Stat(root, trim(r.URL.Path)); err != nil {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/"
			files.ServeHTTP(w, r2)
			return
		}
		files.ServeHTTP(w, r)
	})
}

func trim(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	if p == "" {
		return "."
	}
	return p
}
