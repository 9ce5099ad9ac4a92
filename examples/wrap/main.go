// Command wrap is an existing chi-based game server — a leaderboard and a
// match-making queue — that gains accounts and sessions in a dozen lines
// (marked "gameauth:" below). Everything else is the game's own code.
//
//	go run ./examples/wrap -addr :8080
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/gameauth/gameauth"
	"github.com/gameauth/gameauth/middleware"
)

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	db := flag.String("db", "wrap.db", "SQLite file")
	flag.Parse()

	auth, err := gameauth.New(context.Background(), gameauth.Config{DBPath: *db}) // gameauth: wire it
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	log.Fatal(http.ListenAndServe(*addr, newRouter(auth)))
}

// newRouter is the game's router, with auth added.
func newRouter(auth *gameauth.GameAuth) http.Handler {
	g := &game{scores: map[string]int{}}
	r := chi.NewRouter()
	r.Mount("/auth", http.StripPrefix("/auth", auth.Handler())) // gameauth: sign-up, sign-in, refresh, ...
	r.Get("/leaderboard", g.leaderboard)
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware()) // gameauth: a player on every request below
		r.Post("/score", g.postScore)
		r.With(auth.Middleware(middleware.Service("matchmaking"))).Post("/queue", g.queue) // gameauth: blockable per service
	})
	return r
}

type game struct {
	mu     sync.Mutex
	scores map[string]int // by OpenID, the public player ID
	queued []string
}

func (g *game) leaderboard(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = json.NewEncoder(w).Encode(g.scores)
}

func (g *game) postScore(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context()) // gameauth: who is playing
	var req struct {
		Score int `json:"score"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad score", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if req.Score > g.scores[p.OpenID] {
		g.scores[p.OpenID] = req.Score
	}
	w.WriteHeader(http.StatusNoContent)
}

func (g *game) queue(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.PlayerFrom(r.Context())
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queued = append(g.queued, p.OpenID)
	_ = json.NewEncoder(w).Encode(map[string]int{"Position": len(g.queued)})
}
