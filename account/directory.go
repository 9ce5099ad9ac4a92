package account

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// What operators see of players, and do to them: the admin API's flows. A
// store that implements storage.Directory (and storage.Audit, for the audit
// log) serves them; every shipped backend does.

// PlayerSummary is a player in a search's results.
type PlayerSummary struct {
	UserUniqueID string
	OpenID       string
	Nickname     string
	LinkedType   string
	LinkedID     string // "" for a guest
	CreatedAt    time.Time
}

// PlayerAccount is a player's account as an operator sees it: every field
// but the password hash.
type PlayerAccount struct {
	PlayerSummary
	Country     string
	Timezone    string
	Purchases   storage.Purchases
	UpdatedAt   time.Time
	HasPassword bool
}

// SessionInfo is one session of a player as an operator sees it.
type SessionInfo struct {
	SessionID   string
	DeviceID    string
	Platform    string
	DeviceModel string
	ClientAddr  string
	CreatedAt   time.Time
	// RefreshedAt is the last refresh (the sign-in, if none since).
	RefreshedAt time.Time
	ExpiresAt   time.Time
	// State is "live", "expired", or "revoked: <reason>".
	State string
}

// BlockInfo is a block as an operator sees it, in force or not.
type BlockInfo struct {
	Key       string
	Kind      storage.BlockKind
	Subject   string
	Reason    string
	Services  []string
	CreatedAt time.Time
	Until     time.Time // zero: permanent
	LiftedAt  time.Time // zero: not lifted
	InForce   bool
}

// WithdrawalInfo is a pending withdrawal as an operator sees it.
type WithdrawalInfo struct {
	RequestedAt time.Time
	Deadline    time.Time
	Memo        string
}

// PlayerRecord is everything an operator sees of a player: the account,
// its identities, sessions (with their devices), the blocks on the player
// and on its devices, in force and past, and a pending withdrawal.
type PlayerRecord struct {
	Player     PlayerAccount
	Identities []LinkedIdentity
	Sessions   []SessionInfo
	Blocks     []BlockInfo
	Withdrawal *WithdrawalInfo
}

// PlayerExport is everything stored about a player, for a data-access
// request (GDPR Art. 15 and 20): the record and the player's audit events.
// No secret is in it: no password hash, no token, no key.
type PlayerExport struct {
	PlayerRecord
	AuditEvents []storage.AuditEvent
}

// directory is the store's storage.Directory: UNAVAILABLE, logged, for a
// store that has none (a host's own, which cannot serve operators' pages).
func (s *Service) directory(ctx context.Context) (storage.Directory, error) {
	d, ok := s.store.(storage.Directory)
	if !ok {
		return nil, s.internal(ctx, "directory", errors.New("the store does not implement storage.Directory"))
	}
	return d, nil
}

func summary(a storage.Account) PlayerSummary {
	p := PlayerSummary{UserUniqueID: a.ID, OpenID: a.OpenID, Nickname: a.Nickname, LinkedType: a.LinkedType,
		LinkedID: a.LinkedID, CreatedAt: a.CreatedAt}
	if a.LinkedType == storage.LinkGuest {
		p.LinkedID = "" // the hash of the guest key is nobody's business
	}
	return p
}

// searchCursor is where a nickname search's next page starts.
type searchCursor struct {
	Key string `json:"k"`
	ID  string `json:"i"`
}

// SearchPlayers finds players by q: a UserUniqueID, an OpenID, an email
// (normalized, exact) or a device ID (exact) first, then the players whose
// nickname starts with q (case-insensitively), limit at a time. cursor is
// "" for the first page, else the next cursor a page answered; next is ""
// after the last page.
func (s *Service) SearchPlayers(ctx context.Context, q, cursor string, limit int) (players []PlayerSummary, next string, err error) {
	if err := checkText("q", q); err != nil {
		return nil, "", err
	}
	if q == "" {
		return nil, "", invalidField("q", "is required")
	}
	limit = min(max(limit, 1), 100)
	d, err := s.directory(ctx)
	if err != nil {
		return nil, "", err
	}
	var after searchCursor
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(raw, &after) != nil || after.ID == "" {
			return nil, "", invalidField("cursor", "is not a cursor this server gave")
		}
	}
	seen := map[string]bool{}
	add := func(a storage.Account) {
		if !seen[a.ID] {
			seen[a.ID] = true
			players = append(players, summary(a))
		}
	}
	if cursor == "" {
		exact := []func() (storage.Account, error){
			func() (storage.Account, error) { return s.store.GetAccount(ctx, q) },
			func() (storage.Account, error) { return d.GetAccountByOpenID(ctx, q) },
			func() (storage.Account, error) {
				return s.store.GetAccountByLink(ctx, storage.LinkEmail, normalizeEmail(q))
			},
		}
		for _, get := range exact {
			a, err := get()
			switch {
			case err == nil:
				add(a)
			case !errors.Is(err, storage.ErrNotFound):
				return nil, "", s.unavailable(ctx, "search", err)
			}
		}
		ids, err := d.AccountsOnDevice(ctx, q, 100)
		if err != nil {
			return nil, "", s.unavailable(ctx, "AccountsOnDevice", err)
		}
		for _, id := range ids {
			a, err := s.store.GetAccount(ctx, id)
			switch {
			case err == nil:
				add(a)
			case !errors.Is(err, storage.ErrNotFound):
				return nil, "", s.unavailable(ctx, "GetAccount", err)
			}
		}
	}
	byNick, err := d.SearchNicknames(ctx, q, after.Key, after.ID, limit+1)
	if err != nil {
		return nil, "", s.unavailable(ctx, "SearchNicknames", err)
	}
	if len(byNick) > limit {
		last := byNick[limit-1]
		raw, _ := json.Marshal(searchCursor{Key: storage.NicknameKey(last.Nickname), ID: last.ID})
		next = base64.RawURLEncoding.EncodeToString(raw)
		byNick = byNick[:limit]
	}
	for _, a := range byNick {
		add(a)
	}
	return players, next, nil
}

// Player returns everything an operator sees of a player.
func (s *Service) Player(ctx context.Context, playerID string) (*PlayerRecord, error) {
	if err := checkID("player ID", playerID); err != nil {
		return nil, err
	}
	d, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.account(ctx, playerID)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	rec := &PlayerRecord{Player: PlayerAccount{PlayerSummary: summary(a), Country: a.Country, Timezone: a.Timezone,
		Purchases: a.Purchases, UpdatedAt: a.UpdatedAt, HasPassword: a.PasswordHash != ""}}
	if rec.Identities, err = s.identitiesOf(ctx, a); err != nil {
		return nil, err
	}
	sessions, err := d.ListSessions(ctx, a.ID)
	if err != nil {
		return nil, s.unavailable(ctx, "ListSessions", err)
	}
	var devices []string
	for _, ss := range sessions {
		info := SessionInfo{SessionID: ss.ID, DeviceID: ss.DeviceID, Platform: ss.Platform, DeviceModel: ss.DeviceModel,
			ClientAddr: ss.ClientAddr, CreatedAt: ss.CreatedAt, RefreshedAt: ss.RotatedAt, ExpiresAt: ss.ExpiresAt, State: "live"}
		switch {
		case ss.Revoked():
			info.State = "revoked: " + string(ss.RevokeReason)
		case !now.Before(ss.ExpiresAt):
			info.State = "expired"
		}
		rec.Sessions = append(rec.Sessions, info)
		if ss.DeviceID != "" && !slices.Contains(devices, ss.DeviceID) {
			devices = append(devices, ss.DeviceID)
		}
	}
	blocks, err := d.ListBlocks(ctx, storage.BlockPlayer, a.ID)
	if err != nil {
		return nil, s.unavailable(ctx, "ListBlocks", err)
	}
	for _, dev := range devices {
		bs, err := d.ListBlocks(ctx, storage.BlockDevice, dev)
		if err != nil {
			return nil, s.unavailable(ctx, "ListBlocks", err)
		}
		blocks = append(blocks, bs...)
	}
	for _, b := range blocks {
		rec.Blocks = append(rec.Blocks, BlockInfo{Key: b.Key, Kind: b.Kind, Subject: b.Subject, Reason: b.Reason,
			Services: b.Services, CreatedAt: b.CreatedAt, Until: b.Until, LiftedAt: b.LiftedAt, InForce: b.ActiveAt(now)})
	}
	w, err := s.store.GetAccountWithdrawal(ctx, a.ID)
	switch {
	case err == nil:
		rec.Withdrawal = &WithdrawalInfo{RequestedAt: w.RequestedAt, Deadline: w.Deadline, Memo: w.Memo}
	case !errors.Is(err, storage.ErrNotFound):
		return nil, s.unavailable(ctx, "GetAccountWithdrawal", err)
	}
	return rec, nil
}

// identitiesOf lists a's identities: the store's list, or its one.
func (s *Service) identitiesOf(ctx context.Context, a storage.Account) ([]LinkedIdentity, error) {
	have := []storage.Identity{{Type: a.LinkedType, Subject: a.LinkedID, LinkedAt: a.CreatedAt}}
	if ids, ok := s.store.(storage.Identities); ok {
		var err error
		if have, err = ids.ListIdentities(ctx, a.ID); err != nil {
			return nil, s.unavailable(ctx, "ListIdentities", err)
		}
	}
	out := make([]LinkedIdentity, 0, len(have))
	for _, i := range have {
		li := LinkedIdentity{LinkedType: i.Type, LinkedID: i.Subject, LinkedAt: i.LinkedAt}
		if i.Type == storage.LinkGuest {
			li.LinkedID = ""
		}
		out = append(out, li)
	}
	return out, nil
}

// ExportPlayer returns everything stored about a player, for a data-access
// request: the record and every audit event naming the player.
func (s *Service) ExportPlayer(ctx context.Context, playerID string) (*PlayerExport, error) {
	rec, err := s.Player(ctx, playerID)
	if err != nil {
		return nil, err
	}
	exp := &PlayerExport{PlayerRecord: *rec, AuditEvents: []storage.AuditEvent{}}
	a, ok := s.store.(storage.Audit)
	if !ok {
		return exp, nil
	}
	_ = s.FlushAudit(ctx) // cut short by ctx: read what is there
	for f := (storage.AuditFilter{PlayerID: playerID}); ; {
		page, err := a.ListAudit(ctx, f, 500)
		if err != nil {
			return nil, s.unavailable(ctx, "ListAudit", err)
		}
		exp.AuditEvents = append(exp.AuditEvents, page...)
		if len(page) < 500 {
			return exp, nil
		}
		f.BeforeSeq = page[len(page)-1].Seq
	}
}

// AuditQuery selects audit events (AuditEvents).
type AuditQuery struct {
	PlayerID string
	Kind     string
	Since    time.Time
}

// AuditEvents returns up to limit audit events q selects, newest first,
// from cursor on ("" for the newest); next is the cursor of the following
// page, "" after the last.
func (s *Service) AuditEvents(ctx context.Context, q AuditQuery, cursor string, limit int) (events []storage.AuditEvent, next string, err error) {
	if err := errors.Join(checkText("player", q.PlayerID), checkText("kind", q.Kind)); err != nil {
		return nil, "", err
	}
	if q.Kind != "" && !slices.Contains(AuditKinds(), q.Kind) {
		return nil, "", invalidField("kind", "is not a kind of audit event")
	}
	a, ok := s.store.(storage.Audit)
	if !ok {
		return nil, "", s.internal(ctx, "audit", errors.New("the store does not implement storage.Audit"))
	}
	_ = s.FlushAudit(ctx) // cut short by ctx: read what is there
	f := storage.AuditFilter{PlayerID: q.PlayerID, Kind: q.Kind, Since: q.Since}
	if cursor != "" {
		seq, err := strconv.ParseInt(cursor, 36, 64)
		if err != nil || seq <= 0 {
			return nil, "", invalidField("cursor", "is not a cursor this server gave")
		}
		f.BeforeSeq = seq
	}
	limit = min(max(limit, 1), 500)
	events, err = a.ListAudit(ctx, f, limit+1)
	if err != nil {
		return nil, "", s.unavailable(ctx, "ListAudit", err)
	}
	if len(events) > limit {
		events = events[:limit]
		next = strconv.FormatInt(events[limit-1].Seq, 36)
	}
	return events, next, nil
}

// RevokeSession ends one session (SESSION_REVOKED at its next request).
// Revoking a session that already ended is not an error; an unknown
// session is ErrInvalidRequest with Status 404 (docs/API.md: the admin
// API answers it as it answers an unknown path).
func (s *Service) RevokeSession(ctx context.Context, sessionID string) error {
	if err := checkID("session ID", sessionID); err != nil {
		return err
	}
	sess, err := s.session(ctx, sessionID)
	if errors.Is(err, ErrTokenInvalid) {
		e := ErrInvalidRequest.with("no such session")
		e.Status = http.StatusNotFound
		return e
	}
	if err != nil {
		return err
	}
	now := s.clock()
	if err := s.store.RevokeSession(ctx, sessionID, storage.ReasonAdmin, now); err != nil {
		return s.unavailable(ctx, "RevokeSession", err)
	}
	if !sess.Revoked() {
		s.revoked(ctx, sess.AccountID, []string{sessionID}, storage.ReasonAdmin, now)
		s.observe(ctx, Event{Kind: EventSessionRevoked, PlayerID: sess.AccountID, SessionID: sessionID,
			DeviceID: sess.DeviceID, Reason: string(storage.ReasonAdmin)})
	}
	return nil
}

// RestorePlayer ends a player's pending withdrawal, as the player's own
// restore would; past its deadline it answers WITHDRAWAL_PERIOD_EXPIRED.
// ErrAccountNotFound when the player has no pending withdrawal.
func (s *Service) RestorePlayer(ctx context.Context, playerID string) error {
	if err := checkID("player ID", playerID); err != nil {
		return err
	}
	w, err := s.store.GetAccountWithdrawal(ctx, playerID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrAccountNotFound.with("the player has no pending withdrawal")
	}
	if err != nil {
		return s.unavailable(ctx, "GetAccountWithdrawal", err)
	}
	now := s.clock()
	switch _, err := s.store.Restore(ctx, w.KeyHash, now); {
	case err == nil:
	case errors.Is(err, storage.ErrWithdrawalExpired):
		return ErrWithdrawalExpired
	case errors.Is(err, storage.ErrNotFound):
		return ErrAccountNotFound.with("the player has no pending withdrawal")
	default:
		return s.unavailable(ctx, "Restore", err)
	}
	s.log.InfoContext(ctx, "gameauth: account restored by an operator", "account", playerID)
	s.observe(ctx, Event{Kind: EventWithdrawalRestored, PlayerID: playerID})
	return nil
}

// FlushAudit waits until the Observer has written every event observed
// before the call — the AuditLog writes behind the requests, many events
// at a time — or ctx ends. The service flushes before it reads the log, so
// that a node reads its own events; a host needs it before reading the
// store's audit table itself, and before closing the store.
func (s *Service) FlushAudit(ctx context.Context) error {
	if s.cfg.Observer == nil {
		return nil
	}
	return flushObserver(ctx, s.cfg.Observer)
}
