package identity

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Identify returns who r acts for, in this order:
//   - with an Authorization header, the customer its bearer token names; a
//     header that is not "Bearer <token>" with a valid token is an error
//     matching ErrUnauthenticated, never a fallback to the guest session;
//   - with a valid session cookie, that guest;
//   - otherwise a new guest, whose session cookie Identify sets on w.
func (v *Verifier) Identify(w http.ResponseWriter, r *http.Request) (Identity, error) {
	if h, ok := r.Header["Authorization"]; ok {
		if len(h) != 1 {
			return Identity{}, refuse("send one Authorization header, not %d", len(h))
		}
		scheme, token, _ := strings.Cut(h[0], " ")
		token = strings.TrimLeft(token, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return Identity{}, refuse("Authorization header is not Bearer <token>")
		}
		return v.VerifyToken(token)
	}
	if id, ok := v.readSession(r); ok {
		return Identity{CustomerID: id, Guest: true}, nil
	}
	return v.issueSession(w, r), nil
}

// Middleware identifies each request (see Identify) and passes it on with
// the Identity in its context (see FromContext). A refused credential is
// answered with HTTP 401, WWW-Authenticate: Bearer error="invalid_token"
// and a JSON body {"code":"unauthenticated","message":"..."}: the Connect
// protocol's error shape, so Connect clients and plain JSON clients read it
// alike. CORS preflights, which never carry credentials, pass through
// without an identity and without a session cookie.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			next.ServeHTTP(w, r)
			return
		}
		id, err := v.Identify(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// writeError answers a request Identify refused.
func writeError(w http.ResponseWriter, err error) {
	status, body := http.StatusInternalServerError, map[string]string{
		"code": "internal", "message": "identity: could not identify the caller",
	}
	var ae *authError
	if errors.As(err, &ae) {
		status, body["code"], body["message"] = http.StatusUnauthorized, "unauthenticated", ae.reason
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}
