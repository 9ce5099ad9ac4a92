package account_test

import (
	"net/http"
	"testing"

	. "github.com/gameauth/gameauth/account"
)

// Measured numbers for the docs; run with -benchtime=20x or so.

func benchSignIn(b *testing.B, email string) {
	e := newEnv(b, func(c *envConfig) { c.PasswordHashing = Argon2Params{}; c.MaxSessions = -1 })
	p := e.signUpAs("bench@example.com", "correct horse battery", "dev")
	body := with(device("dev"), "linked_id", email, "linked_password", p.password)
	for b.Loop() {
		r := e.put("/email/signin", body)
		if r.Status != http.StatusOK && r.Status != http.StatusUnauthorized {
			b.Fatal(r.Raw)
		}
	}
}

func BenchmarkSignInDefaultParams(b *testing.B)             { benchSignIn(b, "bench@example.com") }
func BenchmarkSignInUnknownEmailDefaultParams(b *testing.B) { benchSignIn(b, "nobody@example.com") }

func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b)
	p := e.signUp("dev")
	tok := p.refresh
	for b.Loop() {
		r := e.put("/token/refresh", map[string]any{"refresh_token": tok})
		if r.Status != http.StatusOK {
			b.Fatal(r.Raw)
		}
		tok = r.str("Token", "RefreshToken")
	}
}

func BenchmarkTokenStatus(b *testing.B) {
	e := newEnv(b)
	p := e.signUp("dev")
	for b.Loop() {
		if r := e.call(http.MethodGet, "/token/status", nil, bearerOpt(p.access)); r.Status != http.StatusOK {
			b.Fatal(r.Raw)
		}
	}
}
