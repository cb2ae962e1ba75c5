package tracing

import "net/http"

// carrier lets the propagator read and write HTTP headers.
type carrier http.Header

func (c carrier) Get(key string) string { return http.Header(c).Get(key) }
func (c carrier) Set(key, value string) { http.Header(c).Set(key, value) }
func (c carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
