package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// Authorizer checks every call against the tokens and, for other nodes,
// their client certificates.
type Authorizer struct {
	tokens *Tokens
}

// NewAuthorizer checks calls against tokens. Callers presenting a client
// certificate the server verified (against the cluster CA) are nodes, with
// the admin role: the CA must sign only the cluster's nodes.
func NewAuthorizer(tokens *Tokens) *Authorizer { return &Authorizer{tokens: tokens} }

// Tokens is the tokens file the Authorizer checks against.
func (a *Authorizer) Tokens() *Tokens { return a.tokens }

type principalKey struct{}

// PrincipalFrom returns the caller the middleware authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Middleware refuses calls without the role their procedure needs, in the
// caller's protocol: UNAUTHENTICATED without valid credentials,
// PERMISSION_DENIED with a role too weak. It runs before any handler, so it
// covers unary and streaming calls alike.
func (a *Authorizer) Middleware(next http.Handler) http.Handler {
	ew := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.check(r)
		if err != nil {
			if !ew.IsSupported(r) {
				http.Error(w, err.Error(), httpStatus(err))
				return
			}
			_ = ew.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (a *Authorizer) check(r *http.Request) (Principal, error) {
	need := Required(r.URL.Path)
	p, err := a.authenticate(r)
	if err != nil {
		if need == RoleNone {
			return Principal{}, nil
		}
		return Principal{}, connect.NewError(connect.CodeUnauthenticated, err)
	}
	if p.Role < need {
		return Principal{}, connect.NewError(connect.CodePermissionDenied,
			fmt.Errorf("%s has role %s; %s needs %s", p.Name, p.Role, r.URL.Path, need))
	}
	return p, nil
}

var errNoCredentials = errors.New("missing credentials: send Authorization: Bearer <token>")

func (a *Authorizer) authenticate(r *http.Request) (Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return Principal{}, errors.New("authorization header: want Bearer <token>")
		}
		p, ok := a.tokens.Lookup(strings.TrimSpace(token))
		if !ok {
			return Principal{}, errors.New("unknown or revoked token")
		}
		return p, nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return Principal{Name: "node:" + r.TLS.VerifiedChains[0][0].Subject.CommonName, Role: RoleAdmin}, nil
	}
	return Principal{}, errNoCredentials
}

func httpStatus(err error) int {
	if connect.CodeOf(err) == connect.CodePermissionDenied {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// Guard refuses HTTP requests (not RPCs: the admin listener's pages) whose
// caller lacks the role need(path) gives, with 401 or 403.
func (a *Authorizer) Guard(next http.Handler, need func(path string) Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		switch {
		case err != nil && need(r.URL.Path) > RoleNone:
			http.Error(w, err.Error(), http.StatusUnauthorized)
		case err == nil && p.Role < need(r.URL.Path):
			http.Error(w, fmt.Sprintf("%s has role %s; %s needs %s", p.Name, p.Role, r.URL.Path, need(r.URL.Path)), http.StatusForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}
