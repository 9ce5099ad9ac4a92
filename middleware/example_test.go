package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gameauth/gameauth/middleware"
	"github.com/gameauth/gameauth/revocation"
)

func ExampleAuthenticator_Require() {
	// In a real server the verifier is a *tokens.Verifier and the view is
	// fed by the account service; gameauth.New wires both.
	auth := middleware.New(verifier{"good": nil}, revocation.New(nofeed{}, revocation.Config{}), middleware.Config{})
	game := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.PlayerFrom(r.Context())
		fmt.Fprintf(w, "hello %s", p.Nickname)
	})
	mux := http.NewServeMux()
	mux.Handle("/game/", auth.Require(game))
	mux.Handle("/chat/", auth.Require(game, middleware.Service("chat")))

	r := httptest.NewRequest("GET", "/game/state", nil)
	r.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/game/state", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 hello Hero
	// 401 Bearer
}
