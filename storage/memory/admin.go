package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gameauth/gameauth/storage"
)

var (
	_ storage.Directory = (*Store)(nil)
	_ storage.Eraser    = (*Store)(nil)
	_ storage.Audit     = (*Store)(nil)
)

// GetAccountByOpenID implements storage.Directory.
func (s *Store) GetAccountByOpenID(ctx context.Context, openID string) (storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return storage.Account{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.accounts {
		if a.OpenID == openID {
			return *a, nil
		}
	}
	return storage.Account{}, storage.ErrNotFound
}

// SearchNicknames implements storage.Directory.
func (s *Store) SearchNicknames(ctx context.Context, prefix, afterKey, afterID string, limit int) ([]storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := storage.NicknameKey(prefix)
	if limit <= 0 || !utf8.ValidString(p) {
		return nil, nil
	}
	type hit struct {
		key string
		a   storage.Account
	}
	var hits []hit
	for key, id := range s.byNick {
		if strings.HasPrefix(key, p) && (afterID == "" || cmp.Or(strings.Compare(key, afterKey), strings.Compare(id, afterID)) > 0) {
			hits = append(hits, hit{key, *s.accounts[id]})
		}
	}
	slices.SortFunc(hits, func(x, y hit) int { return cmp.Or(strings.Compare(x.key, y.key), strings.Compare(x.a.ID, y.a.ID)) })
	out := make([]storage.Account, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, h.a)
	}
	return out, nil
}

// AccountsOnDevice implements storage.Directory.
func (s *Store) AccountsOnDevice(ctx context.Context, deviceID string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for _, sess := range s.sessions {
		if sess.DeviceID == deviceID && !slices.Contains(ids, sess.AccountID) {
			ids = append(ids, sess.AccountID)
		}
	}
	slices.Sort(ids)
	return ids[:max(0, min(limit, len(ids)))], nil
}

// ListSessions implements storage.Directory.
func (s *Store) ListSessions(ctx context.Context, accountID string) ([]storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Session
	for id := range s.byAccount[accountID] {
		out = append(out, copySession(s.sessions[id]))
	}
	slices.SortFunc(out, func(x, y storage.Session) int {
		return cmp.Or(y.CreatedAt.Compare(x.CreatedAt), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// ListBlocks implements storage.Directory.
func (s *Store) ListBlocks(ctx context.Context, kind storage.BlockKind, subject string) ([]storage.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Block
	for _, b := range s.blocks {
		if b.Kind == kind && b.Subject == subject {
			out = append(out, copyBlock(b))
		}
	}
	slices.SortFunc(out, func(x, y storage.Block) int {
		return cmp.Or(y.CreatedAt.Compare(x.CreatedAt), strings.Compare(x.Key, y.Key))
	})
	return out, nil
}

// ErasePlayer implements storage.Eraser.
func (s *Store) ErasePlayer(ctx context.Context, accountID, email string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.byAccount[accountID] {
		delete(s.sessions, id)
	}
	delete(s.byAccount, accountID)
	for key, b := range s.blocks {
		if b.Kind == storage.BlockPlayer && b.Subject == accountID {
			delete(s.blocks, key)
		}
	}
	if email != "" {
		delete(s.resets, email)
	}
	for _, i := range s.idents[accountID] {
		delete(s.byLink, i.Link())
	}
	delete(s.idents, accountID)
	return nil
}

// AppendAudit implements storage.Audit.
func (s *Store) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.auditSeq++
		e.Seq = s.auditSeq
		s.audit = append(s.audit, e)
	}
	return nil
}

// ListAudit implements storage.Audit.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter, limit int) ([]storage.AuditEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.AuditEvent
	for i := len(s.audit) - 1; i >= 0 && len(out) < limit; i-- {
		e := s.audit[i]
		switch {
		case f.BeforeSeq > 0 && e.Seq >= f.BeforeSeq,
			f.PlayerID != "" && e.PlayerID != f.PlayerID,
			f.Kind != "" && e.Kind != f.Kind,
			!f.Since.IsZero() && e.Time.Before(f.Since):
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteAuditBefore implements storage.Audit.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.audit)
	s.audit = slices.DeleteFunc(s.audit, func(e storage.AuditEvent) bool { return e.Time.Before(t) })
	return n - len(s.audit), nil
}
