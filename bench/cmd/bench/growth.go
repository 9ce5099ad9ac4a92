package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/bench/internal/pgscratch"
	"github.com/gameauth/gameauth/tokens"
)

// growthStage is refresh on PostgreSQL with Sessions sessions (and as many
// accounts) in the store, each request refreshing a different session
// picked at random from all of them.
type growthStage struct {
	Sessions  int
	Load      time.Duration // time to bulk-load this stage's new rows
	TableSize int64         // bytes of gameauth_sessions with its indexes
	Result    loadResult
}

// growthConfig sizes the growth run.
type growthConfig struct {
	Sizes   []int // sessions at each stage, increasing
	Count   int   // measured refreshes per round
	Warmup  int   // unmeasured refreshes per client per round
	Clients int
	Rounds  int // rounds per stage; the median round is kept
}

func benchGrowth(ctx context.Context, dsn string, cfg growthConfig) ([]growthStage, error) {
	pg, err := pgscratch.Open(ctx, dsn, "gameauth_bench_growth")
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	s, err := startServer(ctx, serverConfig{store: pg.Store, clients: cfg.Clients})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ring, err := tokens.OpenRing(ctx, tokens.RingConfig{Store: pg.Store})
	if err != nil {
		return nil, err
	}

	// Plan which rows each stage refreshes before inserting any, so that
	// every stage samples uniformly from all the rows it has, old and new,
	// and only the sampled rows' tokens are kept in memory.
	perClient := (cfg.Count + cfg.Clients - 1) / cfg.Clients
	need := cfg.Clients * (cfg.Warmup + perClient)
	rng := mrand.New(mrand.NewPCG(1, 2))
	sampledFor := map[int]int{} // row index -> stage
	for k, n := range cfg.Sizes {
		if need > n-len(sampledFor) {
			return nil, fmt.Errorf("growth: stage of %d sessions cannot supply %d unused sessions", n, need)
		}
		for picked := 0; picked < need; {
			i := rng.IntN(n)
			if _, taken := sampledFor[i]; !taken {
				sampledFor[i] = k
				picked++
			}
		}
	}
	pools := make([][]string, len(cfg.Sizes))

	var stages []growthStage
	have := 0
	for k, n := range cfg.Sizes {
		t0 := time.Now()
		if err := bulkLoad(ctx, pg, ring, have, n, sampledFor, pools); err != nil {
			return nil, err
		}
		for _, t := range []string{"gameauth_accounts", "gameauth_sessions"} {
			if _, err := pg.Pool.Exec(ctx, "VACUUM ANALYZE "+pg.Table(t).Sanitize()); err != nil {
				return nil, err
			}
		}
		// Flush the load's dirty pages now rather than in the middle of the
		// measurement.
		if _, err := pg.Pool.Exec(ctx, "CHECKPOINT"); err != nil {
			return nil, err
		}
		st := growthStage{Sessions: n, Load: time.Since(t0)}
		have = n
		if err := pg.Pool.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass)",
			pg.Table("gameauth_sessions").Sanitize()).Scan(&st.TableSize); err != nil {
			return nil, err
		}
		// Each round refreshes every session of the stage's pool once, in a
		// new random order, and puts each answer's refresh token back in
		// the pool for the next round.
		pool := pools[k]
		wires := s.wires(cfg.Clients)
		var runs []loadResult
		for range cfg.Rounds {
			rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			var next atomicCounter
			r, err := runLoad(ctx, loadSpec{Clients: cfg.Clients, WarmupCount: cfg.Warmup, Count: cfg.Count},
				func(c int) (request, error) {
					return func(context.Context) error {
						i := next.next()
						if i >= len(pool) {
							return errors.New("growth: token pool exhausted")
						}
						tok, err := refreshOnce(wires[c], pool[i])
						if err == nil {
							pool[i] = tok
						}
						return err
					}, nil
				})
			if err != nil {
				closeWires(wires)
				return nil, fmt.Errorf("growth at %d sessions: %w", n, err)
			}
			runs = append(runs, r)
		}
		closeWires(wires)
		st.Result = medianRun(runs)
		pools[k] = nil
		stages = append(stages, st)
	}
	return stages, nil
}

// bulkLoad inserts rows [from, to) with COPY: one guest account and one live
// session per row, as the postgres backend lays them out (see its
// migrations). Rows sampled for a stage get a real refresh token, kept in
// that stage's pool; the others a random hash no token matches.
func bulkLoad(ctx context.Context, pg *pgscratch.Schema, ring *tokens.Ring, from, to int,
	sampledFor map[int]int, pools [][]string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	expires := now.Add(365 * 24 * time.Hour)
	ids := make([]string, to-from)
	accounts := make([]string, to-from)
	for i := range ids {
		ids[i] = base64.RawURLEncoding.EncodeToString(randomBytes(16))
		accounts[i] = uuid()
	}
	i := 0
	_, err := pg.Pool.CopyFrom(ctx, pg.Table("gameauth_accounts"), []string{
		"id", "open_id", "linked_type", "linked_id", "password_hash", "nickname", "nickname_key",
		"country", "timezone", "purchase_count", "purchase_currency", "purchase_total",
		"voided_count", "voided_currency", "voided_total", "created_at", "updated_at",
	}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(ids) {
			return nil, nil
		}
		link := sha256.Sum256([]byte(ids[i]))
		row := []any{accounts[i], base64.RawURLEncoding.EncodeToString(link[:15]), "guest", hex.EncodeToString(link[:]),
			"", "", "", "KR", "Asia/Seoul", int64(0), "", float64(0), int64(0), "", float64(0), now, now}
		i++
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("copy accounts: %w", err)
	}
	i = 0
	var copyErr error
	_, err = pg.Pool.CopyFrom(ctx, pg.Table("gameauth_sessions"), []string{
		"id", "account_id", "device_id", "platform", "created_at", "expires_at", "refresh_hash",
		"prev_refresh_hash", "generation", "rotated_at", "revoked_at", "revoke_reason",
	}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(ids) {
			return nil, nil
		}
		var hash []byte
		if k, ok := sampledFor[from+i]; ok {
			tok, h, err := ring.NewRefreshToken(ids[i])
			if err != nil {
				copyErr = err
				return nil, err
			}
			pools[k] = append(pools[k], tok)
			hash = h
		} else {
			h := sha256.Sum256([]byte(ids[i]))
			hash = h[:]
		}
		row := []any{ids[i], accounts[i], fmt.Sprintf("device-%d", from+i), "aos", now, expires, hash,
			nil, int64(0), now, nil, ""}
		i++
		return row, nil
	}))
	if copyErr != nil {
		return copyErr
	}
	if err != nil {
		return fmt.Errorf("copy sessions: %w", err)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// uuid is a random version 4 UUID, the form of the service's account IDs.
func uuid() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var errNoPostgres = errors.New("no PostgreSQL DSN (set -postgres or GAMEAUTH_TEST_POSTGRES)")
