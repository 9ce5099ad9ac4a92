// Package memory is an in-process storage.Store: every record in maps behind
// one mutex. It is for tests, examples and single-process games that can lose
// their players on restart; it passes storagetest like every other backend.
package memory

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// resetWindow is the span over which CreateResetCode counts codes per email.
const resetWindow = 24 * time.Hour

// Store is an in-memory storage.Store, safe for concurrent use. Records go in
// and come out as copies, so callers never share a slice with the store.
type Store struct {
	mu sync.RWMutex

	accounts map[string]*storage.Account // by ID
	byLink   map[storage.Link]string     // link → account ID
	byNick   map[string]string           // NicknameKey → account ID

	sessions  map[string]*storage.Session    // by ID
	byAccount map[string]map[string]struct{} // account ID → session IDs

	blocks map[string]*storage.Block // by key

	withdrawals map[string]*storage.Withdrawal // by string(KeyHash)
	pending     map[string]string              // account ID → string(KeyHash)

	resets map[string]*resetState // by email

	keys map[string]*storage.Key // by ID
}

// resetState is an email's current reset code and its recent creations.
type resetState struct {
	code     storage.ResetCode
	live     bool // false once used, spent or never set
	attempts int
	created  []time.Time // creation times, oldest first, pruned to the window
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		accounts:    map[string]*storage.Account{},
		byLink:      map[storage.Link]string{},
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

// CreateAccount implements storage.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a storage.Account) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.ID]; ok {
		return storage.Conflict(storage.FieldID)
	}
	link := storage.Link{Type: a.LinkedType, ID: a.LinkedID}
	if _, ok := s.byLink[link]; ok {
		return storage.Conflict(storage.FieldLink)
	}
	key := storage.NicknameKey(a.Nickname)
	if key != "" {
		if _, ok := s.byNick[key]; ok {
			return storage.Conflict(storage.FieldNickname)
		}
		s.byNick[key] = a.ID
	}
	s.byLink[link] = a.ID
	s.accounts[a.ID] = &a
	return nil
}

// GetAccount implements storage.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.account(id)
}

// GetAccountByLink implements storage.Accounts.
func (s *Store) GetAccountByLink(ctx context.Context, linkType, linkID string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byLink[storage.Link{Type: linkType, ID: linkID}]
	if !ok {
		return storage.Account{}, storage.ErrNotFound
	}
	return s.account(id)
}

// GetAccountByNickname implements storage.Accounts.
func (s *Store) GetAccountByNickname(ctx context.Context, nickname string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	key := storage.NicknameKey(nickname)
	if key == "" {
		return storage.Account{}, storage.ErrNotFound
	}
	id, ok := s.byNick[key]
	if !ok {
		return storage.Account{}, storage.ErrNotFound
	}
	return s.account(id)
}

// account returns a copy of the account; the caller holds the lock.
func (s *Store) account(id string) (storage.Account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return storage.Account{}, storage.ErrNotFound
	}
	return *a, nil // an Account holds no slices: a value copy is a deep copy
}

// lookup returns clone(m[key]), or ErrNotFound if m has no such key; the
// caller holds the lock.
func lookup[T any](m map[string]*T, key string, clone func(*T) T) (T, error) {
	v, ok := m[key]
	if !ok {
		var zero T
		return zero, storage.ErrNotFound
	}
	return clone(v), nil
}

// UpdateAccount implements storage.Accounts.
func (s *Store) UpdateAccount(ctx context.Context, id string, u storage.AccountUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return storage.ErrNotFound
	}
	// Check every unique field before changing anything.
	oldLink := storage.Link{Type: a.LinkedType, ID: a.LinkedID}
	if u.Link != nil {
		if holder, ok := s.byLink[*u.Link]; ok && holder != id {
			return storage.Conflict(storage.FieldLink)
		}
	}
	oldKey := storage.NicknameKey(a.Nickname)
	if u.Nickname != nil {
		if key := storage.NicknameKey(*u.Nickname); key != "" {
			if holder, ok := s.byNick[key]; ok && holder != id {
				return storage.Conflict(storage.FieldNickname)
			}
		}
	}

	if u.Link != nil {
		delete(s.byLink, oldLink)
		s.byLink[*u.Link] = id
		a.LinkedType, a.LinkedID = u.Link.Type, u.Link.ID
	}
	if u.Nickname != nil {
		if oldKey != "" {
			delete(s.byNick, oldKey)
		}
		if key := storage.NicknameKey(*u.Nickname); key != "" {
			s.byNick[key] = id
		}
		a.Nickname = *u.Nickname
	}
	if u.PasswordHash != nil {
		a.PasswordHash = *u.PasswordHash
	}
	if u.Purchases != nil {
		a.Purchases = *u.Purchases
	}
	if u.Country != nil {
		a.Country = *u.Country
	}
	if u.Timezone != nil {
		a.Timezone = *u.Timezone
	}
	a.UpdatedAt = u.At
	return nil
}

// DeleteAccount implements storage.Accounts.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return storage.ErrNotFound
	}
	delete(s.byLink, storage.Link{Type: a.LinkedType, ID: a.LinkedID})
	if key := storage.NicknameKey(a.Nickname); key != "" {
		delete(s.byNick, key)
	}
	delete(s.accounts, id)
	return nil
}

// copySession returns a copy of s sharing no slices with it.
func copySession(s *storage.Session) storage.Session {
	c := *s
	c.RefreshHash = bytes.Clone(s.RefreshHash)
	c.PrevRefreshHash = bytes.Clone(s.PrevRefreshHash)
	return c
}

// CreateSession implements storage.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess storage.Session, keep int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return nil, storage.Conflict(storage.FieldID)
	}
	var replaced []string
	if keep > 0 {
		var live []*storage.Session
		for id := range s.byAccount[sess.AccountID] {
			if old := s.sessions[id]; !old.Revoked() {
				live = append(live, old)
			}
		}
		if excess := len(live) + 1 - keep; excess > 0 {
			slices.SortFunc(live, func(a, b *storage.Session) int {
				return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
			})
			for _, old := range live[:excess] {
				old.RevokedAt, old.RevokeReason = sess.CreatedAt, storage.ReasonReplaced
				replaced = append(replaced, old.ID)
			}
		}
	}
	c := copySession(&sess)
	s.sessions[sess.ID] = &c
	ids := s.byAccount[sess.AccountID]
	if ids == nil {
		ids = map[string]struct{}{}
		s.byAccount[sess.AccountID] = ids
	}
	ids[sess.ID] = struct{}{}
	return replaced, nil
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return storage.Session{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s.sessions, id, copySession)
}

// RotateRefresh implements storage.Sessions.
func (s *Store) RotateRefresh(ctx context.Context, id string, r storage.Rotation) (storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return storage.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return storage.Session{}, storage.ErrNotFound
	}
	return rotate(sess, r)
}

// rotate is RotateRefresh on a session of the store; the caller holds the
// write lock.
func rotate(sess *storage.Session, r storage.Rotation) (storage.Session, error) {
	switch storage.Decide(*sess, r) {
	case storage.OutcomeRevoked:
		return copySession(sess), storage.ErrSessionRevoked
	case storage.OutcomeExpired:
		return copySession(sess), storage.ErrRefreshExpired
	case storage.OutcomeAdvance:
		sess.PrevRefreshHash = sess.RefreshHash
		sess.RefreshHash = bytes.Clone(r.Next)
		sess.Generation++
		sess.RotatedAt = r.Now
		return copySession(sess), nil
	case storage.OutcomeRetry:
		return copySession(sess), nil
	default:
		sess.RevokedAt, sess.RevokeReason = r.Now, storage.ReasonReused
		return copySession(sess), storage.ErrRefreshReused
	}
}

// RevokeSession implements storage.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, reason storage.RevokeReason, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return storage.ErrNotFound
	}
	if !sess.Revoked() {
		sess.RevokedAt, sess.RevokeReason = now, reason
	}
	return nil
}

// RevokeSessions implements storage.Sessions.
func (s *Store) RevokeSessions(ctx context.Context, accountID, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeAll(accountID, except, reason, now), nil
}

// revokeAll revokes the account's live sessions but except; the caller holds
// the write lock.
func (s *Store) revokeAll(accountID, except string, reason storage.RevokeReason, now time.Time) []string {
	var revoked []string
	for id := range s.byAccount[accountID] {
		if sess := s.sessions[id]; id != except && !sess.Revoked() {
			sess.RevokedAt, sess.RevokeReason = now, reason
			revoked = append(revoked, id)
		}
	}
	slices.Sort(revoked)
	return revoked
}

// RevokedSince implements storage.Sessions.
func (s *Store) RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Revocation
	for _, sess := range s.sessions {
		if sess.Revoked() && !sess.RevokedAt.Before(since) {
			out = append(out, storage.Revocation{
				SessionID: sess.ID, AccountID: sess.AccountID, Reason: sess.RevokeReason, At: sess.RevokedAt,
			})
		}
	}
	slices.SortFunc(out, func(a, b storage.Revocation) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.SessionID, b.SessionID))
	})
	return out, nil
}

// DeleteSessionsBefore implements storage.Sessions.
func (s *Store) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.sessions {
		if sess.ExpiresAt.Before(t) || (sess.Revoked() && sess.RevokedAt.Before(t)) {
			delete(s.sessions, id)
			if ids := s.byAccount[sess.AccountID]; ids != nil {
				delete(ids, id)
				if len(ids) == 0 {
					delete(s.byAccount, sess.AccountID)
				}
			}
			n++
		}
	}
	return n, nil
}

// copyBlock returns a copy of b sharing no slices with it.
func copyBlock(b *storage.Block) storage.Block {
	c := *b
	c.Services = slices.Clone(b.Services)
	return c
}

// sortBlocks orders blocks oldest first.
func sortBlocks(bs []storage.Block) {
	slices.SortFunc(bs, func(a, b storage.Block) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Key, b.Key))
	})
}

// CreateBlock implements storage.Blocks.
func (s *Store) CreateBlock(ctx context.Context, b storage.Block) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blocks[b.Key]; ok {
		return storage.Conflict(storage.FieldID)
	}
	c := copyBlock(&b)
	s.blocks[b.Key] = &c
	return nil
}

// LiftBlocks implements storage.Blocks.
func (s *Store) LiftBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.blocks {
		if b.Kind == kind && b.Subject == subject && b.ActiveAt(now) {
			b.LiftedAt = now
			n++
		}
	}
	return n, nil
}

// ActiveBlocks implements storage.Blocks.
func (s *Store) ActiveBlocks(ctx context.Context, kind storage.BlockKind, subject string, now time.Time) ([]storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Block
	for _, b := range s.blocks {
		if b.Kind == kind && b.Subject == subject && b.ActiveAt(now) {
			out = append(out, copyBlock(b))
		}
	}
	sortBlocks(out)
	return out, nil
}

// GetBlock implements storage.Blocks.
func (s *Store) GetBlock(ctx context.Context, key string) (storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return storage.Block{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s.blocks, key, copyBlock)
}

// ListActiveBlocks implements storage.Blocks. It returns the blocks oldest
// first.
func (s *Store) ListActiveBlocks(ctx context.Context, now time.Time) ([]storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Block
	for _, b := range s.blocks {
		if b.ActiveAt(now) {
			out = append(out, copyBlock(b))
		}
	}
	sortBlocks(out)
	return out, nil
}

// copyWithdrawal returns a copy of w sharing no slices with it.
func copyWithdrawal(w *storage.Withdrawal) storage.Withdrawal {
	c := *w
	c.KeyHash = bytes.Clone(w.KeyHash)
	return c
}

// Withdraw implements storage.Withdrawals.
func (s *Store) Withdraw(ctx context.Context, w storage.Withdrawal) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[w.AccountID]; ok {
		return nil, storage.Conflict(storage.FieldState)
	}
	key := string(w.KeyHash)
	if _, ok := s.withdrawals[key]; ok {
		return nil, storage.Conflict(storage.FieldID)
	}
	c := copyWithdrawal(&w)
	c.PurgedAt = time.Time{}
	s.withdrawals[key] = &c
	s.pending[w.AccountID] = key
	return s.revokeAll(w.AccountID, "", storage.ReasonWithdrawn, w.RequestedAt), nil
}

// GetWithdrawal implements storage.Withdrawals.
func (s *Store) GetWithdrawal(ctx context.Context, keyHash []byte) (storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return storage.Withdrawal{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s.withdrawals, string(keyHash), copyWithdrawal)
}

// GetAccountWithdrawal implements storage.Withdrawals.
func (s *Store) GetAccountWithdrawal(ctx context.Context, accountID string) (storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return storage.Withdrawal{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	key, ok := s.pending[accountID]
	if !ok {
		return storage.Withdrawal{}, storage.ErrNotFound
	}
	return copyWithdrawal(s.withdrawals[key]), nil
}

// Restore implements storage.Withdrawals.
func (s *Store) Restore(ctx context.Context, keyHash []byte, now time.Time) (storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return storage.Withdrawal{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := string(keyHash)
	w, ok := s.withdrawals[key]
	switch {
	case !ok:
		return storage.Withdrawal{}, storage.ErrNotFound
	case !w.PurgedAt.IsZero() || !w.Deadline.After(now):
		return storage.Withdrawal{}, storage.ErrWithdrawalExpired
	}
	delete(s.withdrawals, key)
	delete(s.pending, w.AccountID)
	return copyWithdrawal(w), nil
}

// DueWithdrawals implements storage.Withdrawals. It returns the earliest
// deadlines first.
func (s *Store) DueWithdrawals(ctx context.Context, now time.Time, limit int) ([]storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Withdrawal
	for _, key := range s.pending {
		if w := s.withdrawals[key]; !w.Deadline.After(now) {
			out = append(out, copyWithdrawal(w))
		}
	}
	slices.SortFunc(out, func(a, b storage.Withdrawal) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.AccountID, b.AccountID))
	})
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// MarkPurged implements storage.Withdrawals.
func (s *Store) MarkPurged(ctx context.Context, accountID string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.pending[accountID]
	if !ok {
		return storage.ErrNotFound
	}
	w := s.withdrawals[key]
	s.withdrawals[key] = &storage.Withdrawal{KeyHash: w.KeyHash, Deadline: w.Deadline, PurgedAt: now}
	delete(s.pending, accountID)
	return nil
}

// DeleteTombstones implements storage.Withdrawals.
func (s *Store) DeleteTombstones(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for key, w := range s.withdrawals {
		if !w.PurgedAt.IsZero() && w.Deadline.Before(before) {
			delete(s.withdrawals, key)
			n++
		}
	}
	return n, nil
}

// CreateResetCode implements storage.ResetCodes. A maxPerDay of 0 or less
// means no limit.
func (s *Store) CreateResetCode(ctx context.Context, c storage.ResetCode, maxPerDay int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.resets[c.Email]
	if st == nil {
		st = &resetState{}
		s.resets[c.Email] = st
	}
	// Forget creations that can no longer count, then count the rest.
	from := c.CreatedAt.Add(-resetWindow)
	st.created = slices.DeleteFunc(st.created, func(t time.Time) bool { return !t.After(from) })
	if maxPerDay > 0 && len(st.created) >= maxPerDay {
		return storage.ErrLimited
	}
	c.CodeHash = bytes.Clone(c.CodeHash)
	st.code, st.live, st.attempts = c, true, 0
	st.created = append(st.created, c.CreatedAt)
	return nil
}

// ConsumeResetCode implements storage.ResetCodes.
func (s *Store) ConsumeResetCode(ctx context.Context, email string, codeHash []byte, now time.Time, maxAttempts int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.resets[email]
	if st == nil || !st.live || !now.Before(st.code.ExpiresAt) {
		return storage.ErrNotFound
	}
	if !bytes.Equal(codeHash, st.code.CodeHash) {
		st.attempts++
		if st.attempts >= maxAttempts {
			st.live = false
		}
		return storage.ErrNotFound
	}
	st.live = false
	return nil
}

// copyKey returns a copy of k sharing no slices with it.
func copyKey(k *storage.Key) storage.Key {
	c := *k
	c.Private = bytes.Clone(k.Private)
	c.Public = bytes.Clone(k.Public)
	return c
}

// ListKeys implements storage.Keys.
func (s *Store) ListKeys(ctx context.Context) ([]storage.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]storage.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, copyKey(k))
	}
	slices.SortFunc(out, func(a, b storage.Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// AddKey implements storage.Keys.
func (s *Store) AddKey(ctx context.Context, k storage.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return storage.Conflict(storage.FieldID)
	}
	c := copyKey(&k)
	s.keys[k.ID] = &c
	return nil
}

// DeleteKey implements storage.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return storage.ErrNotFound
	}
	delete(s.keys, id)
	return nil
}
