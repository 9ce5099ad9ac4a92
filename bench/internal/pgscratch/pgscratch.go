// Package pgscratch opens gameauth's PostgreSQL store in a schema of its
// own, made for one benchmark and dropped afterwards, so that a run never
// reads or leaves data of another.
package pgscratch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gameauth/gameauth/storage/postgres"
)

// Schema is a store in a throwaway schema, dropped by Close.
type Schema struct {
	// Store is opened as a host opens it, with postgres.Open's own pool.
	Store *postgres.Store
	// Pool is a connection of the benchmark's own, for bulk loads, for
	// statistics and for the drop.
	Pool *pgxpool.Pool
	// Name is the schema's name: a prefix and 8 random hex digits.
	Name string
}

// Open creates the store in a new schema named after prefix.
func Open(ctx context.Context, dsn, prefix string) (*Schema, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	name := prefix + "_" + hex.EncodeToString(suffix)
	store, err := postgres.Open(ctx, dsn, postgres.Schema(name))
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Schema{Store: store, Pool: pool, Name: name}, nil
}

// Table is the schema-qualified name of one of the store's tables.
func (s *Schema) Table(name string) pgx.Identifier { return pgx.Identifier{s.Name, name} }

// Close closes the store and drops its schema.
func (s *Schema) Close() error {
	_ = s.Store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.Pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s.Name}.Sanitize()+" CASCADE")
	s.Pool.Close()
	return err
}
