package cors_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bookd/bookd/rpc/cors"
)

func Example() {
	policy, err := cors.New(cors.Config{Origins: []string{"https://shop.example.com"}})
	if err != nil {
		panic(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler ran")
	})
	h := policy.Handler(api) // outermost, before authentication

	// The browser asks whether the page may POST JSON.
	r := httptest.NewRequest("OPTIONS", "/bookd.v1.BookingService/ListEvents", nil)
	r.Header.Set("Origin", "https://shop.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Access-Control-Allow-Origin"))

	// A page elsewhere is refused before the handler.
	r.Header.Set("Origin", "https://evil.example.net")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Access-Control-Allow-Origin") == "")
	// Output:
	// 204 https://shop.example.com
	// 403 true
}
