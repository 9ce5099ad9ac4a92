// Package memory is an in-process storage.Store: every record in maps behind
// one mutex. It is for tests, examples and single-process games that can lose
// their players on restart; it passes storagetest like every other backend.
package memory

import (
	"sync"

	"github.com/gameauth/gameauth/storage"
)

// Store is an in-memory storage.Store, safe for concurrent use. Records go in
// and come out as copies, so callers never share a slice with the store.
type Store struct {
	mu sync.RWMutex

	accounts map[string]*storage.Account   // by ID
	byLink   map[storage.Link]string       // every identity → account ID
	idents   map[string][]storage.Identity // account ID → its identities, oldest first
	byNick   map[string]string             // NicknameKey → account ID

	sessions  map[string]*storage.Session    // by ID
	byAccount map[string]map[string]struct{} // account ID → session IDs

	blocks map[string]*storage.Block // by key

	withdrawals map[string]*storage.Withdrawal // by string(KeyHash)
	pending     map[string]string              // account ID → string(KeyHash)

	resets map[string]*resetState // by email

	keys map[string]*storage.Key // by ID

	audit    []storage.AuditEvent // oldest first
	auditSeq int64
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		accounts:    map[string]*storage.Account{},
		byLink:      map[storage.Link]string{},
		idents:      map[string][]storage.Identity{},
		byNick:      map[string]string{},
		sessions:    map[string]*storage.Session{},
		byAccount:   map[string]map[string]struct{}{},
		blocks:      map[string]*storage.Block{},
		withdrawals: map[string]*storage.Withdrawal{},
		pending:     map[string]string{},
		resets:      map[string]*resetState{},
		keys:        map[string]*storage.Key{},
	}
}

// Close implements storage.Store; the store stays usable.
func (s *Store) Close() error { return nil }
