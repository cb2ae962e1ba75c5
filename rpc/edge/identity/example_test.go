package identity_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bookd/bookd/rpc/edge/identity"
)

func ExampleVerifier_Middleware() {
	// In production: keys from files, and JWKS from identity.LoadJWKS.
	sessionKey := make([]byte, 32)
	rand.Read(sessionKey)
	v, err := identity.New(identity.Config{SessionKey: sessionKey, SecureCookies: true})
	if err != nil {
		log.Fatal(err)
	}
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := identity.FromContext(r.Context())
		fmt.Println("guest:", id.Guest, strings.HasPrefix(id.CustomerID, identity.GuestPrefix))
	}))

	// A caller without a token becomes a guest with a session cookie.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println("cookie:", w.Result().Cookies()[0].Name)

	// A caller with a bad token is refused, not made a guest.
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer not-a-jwt")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// guest: true true
	// cookie: bookd_session
	// 401 {"code":"unauthenticated","message":"bearer token is not a JWT in compact form"}
}
