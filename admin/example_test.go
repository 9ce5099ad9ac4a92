package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/admin"
	"github.com/gameauth/gameauth/storage/memory"
)

// The admin API and the operators' console at /admin/: the page is open,
// the API behind the operator's token.
func ExampleConsole() {
	auth, err := gameauth.New(context.Background(), gameauth.Config{Store: memory.New()})
	if err != nil {
		panic(err)
	}
	defer auth.Close()
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", admin.NewHandler(auth.Service(), admin.Config{
		Authorize: admin.BearerToken("operator-secret", "admin"),
		Console:   admin.Console(),
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/admin/", "/admin/players?q=ann"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Println(path, res.StatusCode, strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'"))
	}
	// Output:
	// /admin/ 200 true
	// /admin/players?q=ann 401 false
}
