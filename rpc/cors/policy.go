package cors

import (
	"fmt"
	"net/http"
	"strings"
)

// Config says which pages may call a handler from a browser.
type Config struct {
	// Origins lists the origins allowed, each exactly as browsers send it
	// in the Origin header: scheme://host[:port], lower case, without the
	// scheme's default port (https://shop.example.com,
	// http://localhost:3000). "*", "null" and origins with a path are
	// refused. None: CORS is off.
	Origins []string
	// AllowCredentials lets allowed pages send cookies (fetch with
	// credentials: "include") and read the answer: for handlers that keep a
	// session in a cookie. Bearer tokens in Authorization do not need it.
	AllowCredentials bool
}

// Policy is a checked Config; its Handler applies it.
type Policy struct {
	origins     map[string]bool
	credentials bool
	// Header values, joined once.
	methods, allow, expose string
}

// New checks cfg and returns its policy. An error names each listed origin
// that is not one, and says why.
func New(cfg Config) (*Policy, error) {
	p := &Policy{
		origins:     make(map[string]bool, len(cfg.Origins)),
		credentials: cfg.AllowCredentials,
		methods:     strings.Join(allowedMethods, ", "),
		allow:       strings.Join(allowedHeaders, ", "),
		expose:      strings.Join(exposedHeaders, ", "),
	}
	var bad []string
	for _, o := range cfg.Origins {
		if err := checkOrigin(o); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		p.origins[o] = true
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("cors: %s", strings.Join(bad, "; "))
	}
	return p, nil
}

// Enabled reports whether the policy allows any origin; Handler changes
// nothing when it does not.
func (p *Policy) Enabled() bool { return p != nil && len(p.origins) > 0 }

// Handler returns next behind the policy, or next itself when the policy
// allows no origin (a nil Policy allows none).
//
// With origins allowed, every response gets Vary: Origin. A preflight from
// an allowed origin is answered 204 with the methods, headers and max age
// allowed; from any other origin, 403 with no CORS headers. Neither reaches
// next. Any other request reaches next; from an allowed origin its response
// names that origin in Access-Control-Allow-Origin and lists the headers the
// page may read.
func (p *Policy) Handler(next http.Handler) http.Handler {
	if !p.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && p.origins[origin]
		if isPreflight(r) {
			if !allowed {
				http.Error(w, fmt.Sprintf("cors: origin %q may not call this server", origin), http.StatusForbidden)
				return
			}
			p.allowOrigin(h, origin)
			h.Set("Access-Control-Allow-Methods", p.methods)
			h.Set("Access-Control-Allow-Headers", p.allow)
			h.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			p.allowOrigin(h, origin)
			h.Set("Access-Control-Expose-Headers", p.expose)
		}
		next.ServeHTTP(w, r)
	})
}

func (p *Policy) allowOrigin(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// isPreflight reports whether r is a browser's preflight: OPTIONS from an
// origin, naming the method it asks to use.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}
