package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/gameauth/gameauth/bench/internal/gobench"
	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/memory"
	"github.com/gameauth/gameauth/tokens"
)

// memConfig sizes the memory measurements.
type memConfig struct {
	Flood       int // distinct tokens verified to check the bound (1,000,000)
	ViewEntries int // revoked sessions and blocks loaded into a revocation view
	SampleEvery int // tokens between live-heap samples during the flood
}

// memResult is what the memory measurements found.
type memResult struct {
	TokenLen     int     // bytes of one access token
	CacheEntry   float64 // live heap bytes per cached verified token
	CacheBound   int     // the cache's entry bound (tokens.DefaultCacheEntries)
	Flood        int     // distinct tokens verified
	FloodHeap    int64   // live heap of the cache after the flood
	FloodPeak    int64   // largest live heap of the cache sampled during the flood
	FloodTime    time.Duration
	RevokedEntry float64 // live heap bytes per revoked session in the view
	BlockEntry   float64 // live heap bytes per active block in the view
	ViewEntries  int
	HeapBaseline int64 // live heap before the cache existed
}

// benchMemory measures the verified-token cache and the revocation view as
// gameauth.New wires them, in this process, before any server runs in it.
func benchMemory(ctx context.Context, cfg memConfig) (memResult, error) {
	out := memResult{CacheBound: tokens.DefaultCacheEntries, Flood: cfg.Flood, ViewEntries: cfg.ViewEntries}
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{Store: memory.New()})
	if err != nil {
		return out, err
	}
	const iss, aud = "gameauth", "gameauth"
	issuer := tokens.NewIssuer(ring, tokens.IssuerConfig{Issuer: iss, Audience: aud})
	claims := func(i int) tokens.Claims {
		return tokens.Claims{
			Subject: uuid(), SessionID: fmt.Sprintf("sess%018d", i), OpenID: "k7m2q9x4w8r3t6y1b5n0c2v4",
			Nickname: "Hero", LinkedType: "guest", Country: "KR", DeviceID: fmt.Sprintf("device-%06d", i),
		}
	}
	newVerifier := func() (*tokens.Verifier, tokens.Cache) {
		c := tokens.NewCache(tokens.DefaultCacheEntries, time.Hour)
		return tokens.NewVerifier(ring, tokens.VerifierConfig{Issuer: iss, Audience: aud, Cache: c}), c
	}

	// The flood: Flood distinct tokens, issued and verified as they come,
	// none kept, the live heap sampled every SampleEvery tokens. The cache
	// is full (exactly at its bound) at every multiple of the bound, so with
	// SampleEvery dividing the bound the first sample sizes one entry and
	// the others show whether the bound holds.
	sample, _, err := issuer.Issue(claims(0))
	if err != nil {
		return out, err
	}
	out.TokenLen = len(sample)
	out.HeapBaseline = gobench.LiveHeap()
	v, cache := newVerifier()
	t0 := time.Now()
	for done := 0; done < cfg.Flood; {
		n := min(cfg.SampleEvery, cfg.Flood-done)
		base := done
		err := verifyAll(v, n, func(i int) (string, error) {
			tok, _, err := issuer.Issue(claims(base + i))
			return tok, err
		})
		if err != nil {
			return out, err
		}
		h := gobench.LiveHeap() - out.HeapBaseline
		if done == 0 {
			// Per entry the cache holds: a set-associative cache holds a
			// little less than its bound when that many tokens came.
			held := min(n, out.CacheBound)
			if l, ok := cache.(interface{ Len() int }); ok {
				held = l.Len()
			}
			out.CacheEntry = float64(h) / float64(held)
		}
		done += n
		out.FloodPeak = max(out.FloodPeak, h)
	}
	out.FloodTime = time.Since(t0)
	out.FloodHeap = gobench.LiveHeap() - out.HeapBaseline
	runtime.KeepAlive(cache)
	runtime.KeepAlive(v)

	// The revocation view, loaded as a node loads it at start: ViewEntries
	// revoked sessions, then as many active blocks, from its feed. The
	// records are made inside the feed, so the view holds the only
	// references and every byte it keeps counts.
	now := time.Now()
	feed := &memFeed{}
	view := revocation.New(feed, revocation.Config{Clock: func() time.Time { return now }})
	before := gobench.LiveHeap()
	feed.revs = func() []storage.Revocation {
		revs := make([]storage.Revocation, cfg.ViewEntries)
		for i := range revs {
			revs[i] = storage.Revocation{SessionID: fmt.Sprintf("%022d", i), AccountID: uuid(), Reason: storage.ReasonReplaced, At: now}
		}
		return revs
	}
	if err := view.Sync(ctx); err != nil {
		return out, err
	}
	feed.revs = nil
	mid := gobench.LiveHeap()
	out.RevokedEntry = float64(mid-before) / float64(cfg.ViewEntries)
	feed.blocks = func() []storage.Block {
		bs := make([]storage.Block, cfg.ViewEntries)
		for i := range bs {
			bs[i] = storage.Block{Key: fmt.Sprintf("%022d", i), Kind: storage.BlockPlayer, Subject: uuid(),
				Reason: "cheating", CreatedAt: now, Until: now.Add(24 * time.Hour)}
		}
		return bs
	}
	if err := view.Sync(ctx); err != nil {
		return out, err
	}
	feed.blocks = nil
	after := gobench.LiveHeap()
	out.BlockEntry = float64(after-mid) / float64(cfg.ViewEntries)
	if _, ok := view.SessionRevoked(fmt.Sprintf("%022d", cfg.ViewEntries-1)); !ok {
		return out, fmt.Errorf("revocation view lost a revoked session")
	}
	runtime.KeepAlive(view)
	return out, nil
}

// verifyAll verifies n tokens from tok on every core.
func verifyAll(v *tokens.Verifier, n int, tok func(i int) (string, error)) error {
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += procs {
				t, err := tok(i)
				if err == nil {
					_, err = v.Verify(t)
				}
				if err != nil {
					errs[p] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// memFeed is a revocation.Feed whose records are made on demand.
type memFeed struct {
	revs   func() []storage.Revocation
	blocks func() []storage.Block
}

func (f *memFeed) RevokedSince(context.Context, time.Time) ([]storage.Revocation, error) {
	if f.revs == nil {
		return nil, nil
	}
	return f.revs(), nil
}

func (f *memFeed) ListActiveBlocks(context.Context, time.Time) ([]storage.Block, error) {
	if f.blocks == nil {
		return nil, nil
	}
	return f.blocks(), nil
}
