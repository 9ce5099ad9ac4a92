package account

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gameauth/gameauth/internal/blockanswer"
	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

// MAC labels of the secrets the service derives from the server secret.
const (
	labelWithdrawalKey = "gameauth/account/withdrawal-key/v1"
	labelResetCode     = "gameauth/account/reset-code/v1"
)

// errPurged is internal: the account's withdrawal deadline had passed, so it
// was purged on the spot. Each flow answers as if it had never existed.
var errPurged = errors.New("account: purged")

func hashSecret(s string) []byte { return tokens.HashSecret(s) }

// unavailable logs a store failure once and answers UNAVAILABLE. Store
// errors carry record keys at most, never a secret.
func (s *Service) unavailable(ctx context.Context, op string, err error) error {
	s.log.ErrorContext(ctx, "gameauth: store failed", "op", op, "err", err)
	e := ErrUnavailable.with("service temporarily unavailable")
	e.Err = err
	return e
}

// internal answers UNAVAILABLE for a failure that is not the store's
// (signing, a cancelled request while waiting for a hash slot).
func (s *Service) internal(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		s.log.DebugContext(ctx, "gameauth: request ended early", "op", op, "err", ctx.Err())
	} else {
		s.log.ErrorContext(ctx, "gameauth: internal failure", "op", op, "err", err)
	}
	e := ErrUnavailable.with("service temporarily unavailable")
	e.Err = err
	return e
}

// undo runs a compensation after a later step failed. It outlives the
// request's cancellation: a client hanging up must not leave a half-write.
func (s *Service) undo(ctx context.Context, op string, f func(context.Context) error) {
	if f == nil {
		return
	}
	if err := f(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "gameauth: could not undo a partial write", "op", op, "err", err)
	}
}

// revoked tells Events about sessions revoked at now.
func (s *Service) revoked(ctx context.Context, accountID string, ids []string, reason storage.RevokeReason, now time.Time) {
	if s.cfg.Events == nil || len(ids) == 0 {
		return
	}
	revs := make([]storage.Revocation, len(ids))
	for i, id := range ids {
		revs[i] = storage.Revocation{SessionID: id, AccountID: accountID, Reason: reason, At: now}
	}
	s.cfg.Events.SessionsRevoked(ctx, revs)
}

// tokenResult is a successful sign-in or refresh.
type tokenResult struct {
	access    string
	refresh   string
	expiresIn int64
	player    playerInfo
	guestKey  string // set when a guest sign-in created the account
	sessionID string
}

// tokenResponse is API.md's TokenResponse.
type tokenResponse struct {
	Token struct {
		AccessToken  string `json:"AccessToken"`
		RefreshToken string `json:"RefreshToken"`
		ExpiresIn    int64  `json:"ExpiresIn"`
	} `json:"Token"`
	Player   playerInfo `json:"Player"`
	GuestKey string     `json:"GuestKey,omitempty"`
}

func (t *tokenResult) response() tokenResponse {
	var r tokenResponse
	r.Token.AccessToken = t.access
	r.Token.RefreshToken = t.refresh
	r.Token.ExpiresIn = t.expiresIn
	r.Player = t.player
	r.GuestKey = t.guestKey
	return r
}

// issue signs an access token for the account's session.
func (s *Service) issue(a storage.Account, sessionID, deviceID string) (string, tokens.Claims, error) {
	return s.issuer.Issue(tokens.Claims{
		Subject:    a.ID,
		SessionID:  sessionID,
		OpenID:     a.OpenID,
		Nickname:   a.Nickname,
		LinkedType: a.LinkedType,
		Country:    a.Country,
		DeviceID:   deviceID,
	})
}

// startSession creates a session for a on c's device and signs its tokens.
// Creating the session is the flow's last write; when it fails, undo takes
// the flow's earlier writes back. keep is CreateSession's keep.
func (s *Service) startSession(ctx context.Context, a storage.Account, c client, now time.Time, keep int,
	undo func(context.Context) error) (*tokenResult, error) {
	sid := newSessionID()
	refresh, rhash, err := s.ring.NewRefreshToken(sid)
	if err != nil {
		s.undo(ctx, "startSession", undo)
		return nil, s.internal(ctx, "NewRefreshToken", err)
	}
	access, _, err := s.issue(a, sid, c.device.DeviceID)
	if err != nil {
		s.undo(ctx, "startSession", undo)
		return nil, s.internal(ctx, "Issue", err)
	}
	sess := storage.Session{
		ID:          sid,
		AccountID:   a.ID,
		DeviceID:    c.device.DeviceID,
		Platform:    c.device.Platform,
		CreatedAt:   now,
		ExpiresAt:   now.Add(s.cfg.RefreshTTL),
		RefreshHash: rhash,
		RotatedAt:   now,
	}
	replaced, err := s.store.CreateSession(ctx, sess, keep)
	if err != nil {
		s.undo(ctx, "startSession", undo)
		return nil, s.unavailable(ctx, "CreateSession", err)
	}
	s.revoked(ctx, a.ID, replaced, storage.ReasonReplaced, now)
	return &tokenResult{
		access:    access,
		refresh:   refresh,
		expiresIn: int64(s.issuer.TTL() / time.Second),
		player:    s.player(a, c.timezone, now),
		sessionID: sid,
	}, nil
}

// ---- account state ----

// purge deletes a withdrawn account whose grace period is over and turns
// its withdrawal into a tombstone. The account goes first: if the second
// step fails, the withdrawal is still pending and due, and the next purge
// (the janitor's, or the next request's) finishes it.
func (s *Service) purge(ctx context.Context, accountID string, now time.Time) error {
	if err := s.store.DeleteAccount(ctx, accountID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "DeleteAccount", err)
	}
	if err := s.store.MarkPurged(ctx, accountID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "MarkPurged", err)
	}
	s.log.InfoContext(ctx, "gameauth: purged withdrawn account", "account", accountID)
	return nil
}

// purgeIfDue purges the account if its withdrawal's grace period is over,
// and reports whether it did.
func (s *Service) purgeIfDue(ctx context.Context, accountID string, now time.Time) (bool, error) {
	w, err := s.store.GetAccountWithdrawal(ctx, accountID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.unavailable(ctx, "GetAccountWithdrawal", err)
	}
	if now.Before(w.Deadline) {
		return false, nil
	}
	return true, s.purge(ctx, accountID, now)
}

// checkAccount is the state a sign-in must find: not withdrawn, not blocked,
// device not blocked, in that order. A withdrawal past its deadline purges
// the account and returns errPurged.
func (s *Service) checkAccount(ctx context.Context, a storage.Account, deviceID string, now time.Time) error {
	w, err := s.store.GetAccountWithdrawal(ctx, a.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return s.unavailable(ctx, "GetAccountWithdrawal", err)
	case !now.Before(w.Deadline):
		if err := s.purge(ctx, a.ID, now); err != nil {
			return err
		}
		return errPurged
	default:
		e := ErrAccountWithdrawn.with("account is withdrawn; it will be purged at " + w.Deadline.UTC().Format(time.RFC3339))
		e.WithdrawalKey = s.withdrawalKey(a.ID, w.RequestedAt)
		return e
	}
	blocks, err := s.store.ActiveBlocks(ctx, storage.BlockPlayer, a.ID, now)
	if err != nil {
		return s.unavailable(ctx, "ActiveBlocks", err)
	}
	if b, ok := widest(blocks); ok {
		e := ErrAccountBlocked.with(blockanswer.Message(b))
		e.BlockKey = b.Key
		e.ErrorData = blockanswer.Data(b, a.Nickname)
		return e
	}
	return s.checkDeviceBlock(ctx, deviceID, now)
}

// checkDeviceBlock answers DEVICE_BLOCKED for a device under an
// account-wide block.
func (s *Service) checkDeviceBlock(ctx context.Context, deviceID string, now time.Time) error {
	if deviceID == "" {
		return nil
	}
	blocks, err := s.store.ActiveBlocks(ctx, storage.BlockDevice, deviceID, now)
	if err != nil {
		return s.unavailable(ctx, "ActiveBlocks", err)
	}
	if b, ok := widest(blocks); ok {
		e := ErrDeviceBlocked.with(blockanswer.Message(b))
		e.ErrorData = blockanswer.Data(b, "")
		return e
	}
	return nil
}

// widest picks, among blocks in force, the account-wide one that ends last
// (a permanent one first). Service-scoped blocks do not stop sign-in.
func widest(blocks []storage.Block) (storage.Block, bool) {
	var best storage.Block
	found := false
	for _, b := range blocks {
		if len(b.Services) != 0 {
			continue
		}
		switch {
		case !found:
			best, found = b, true
		case best.Until.IsZero():
		case b.Until.IsZero() || b.Until.After(best.Until):
			best = b
		}
	}
	return best, found
}

// session reads a token's session: TOKEN_INVALID when there is none.
func (s *Service) session(ctx context.Context, id string) (storage.Session, error) {
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return sess, ErrTokenInvalid
	}
	if err != nil {
		return sess, s.unavailable(ctx, "GetSession", err)
	}
	return sess, nil
}

// account reads a token's player: ACCOUNT_NOT_FOUND when there is none.
func (s *Service) account(ctx context.Context, id string) (storage.Account, error) {
	a, err := s.store.GetAccount(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return a, ErrAccountNotFound
	}
	if err != nil {
		return a, s.unavailable(ctx, "GetAccount", err)
	}
	return a, nil
}

// sessionEnded is the answer for a revoked session.
func sessionEnded(reason storage.RevokeReason) error {
	if reason == storage.ReasonReplaced {
		return ErrSessionReplaced
	}
	return ErrSessionRevoked
}

// withdrawalKey derives the restore key of a withdrawal from the server
// secret, so it can be shown again on a later sign-in without being stored.
// requestedAt has whole seconds (see withdraw), which every store keeps.
func (s *Service) withdrawalKey(accountID string, requestedAt time.Time) string {
	mac := s.ring.MAC(labelWithdrawalKey, []byte(accountID), []byte(strconv.FormatInt(requestedAt.Unix(), 10)))
	return base64.RawURLEncoding.EncodeToString(mac)
}

// resetHash is how a reset code is stored: a MAC under the server secret,
// since eight digits hashed plainly would fall to a dictionary at once.
func (s *Service) resetHash(email, code string) []byte {
	return s.ring.MAC(labelResetCode, []byte(email), []byte(code))
}

// ---- conflicts ----

// takenAnswer maps a unique-field conflict to its API.md answer.
func (s *Service) takenAnswer(ctx context.Context, op, field, linkType string, err error) error {
	switch {
	case field == storage.FieldNickname:
		return ErrNicknameTaken
	case linkType == storage.LinkEmail && (field == storage.FieldLink || field == ""):
		return ErrEmailTaken
	}
	return s.unavailable(ctx, op, err)
}

// freeConflict looks at who holds the unique value a write conflicted on.
// A holder whose withdrawal is past its deadline counts as purged: it is
// purged now and freeConflict returns nil, so the caller retries once.
// Otherwise it returns the API.md answer (EMAIL_TAKEN, NICKNAME_TAKEN).
func (s *Service) freeConflict(ctx context.Context, op string, cerr error, link *storage.Link, nickname, self string, now time.Time) error {
	field := storage.ConflictField(cerr)
	type lookup struct {
		field string
		get   func() (storage.Account, error)
	}
	var looks []lookup
	if link != nil && (field == storage.FieldLink || field == "") {
		looks = append(looks, lookup{storage.FieldLink, func() (storage.Account, error) {
			return s.store.GetAccountByLink(ctx, link.Type, link.ID)
		}})
	}
	if nickname != "" && (field == storage.FieldNickname || field == "") {
		looks = append(looks, lookup{storage.FieldNickname, func() (storage.Account, error) {
			return s.store.GetAccountByNickname(ctx, nickname)
		}})
	}
	if field == storage.FieldID {
		return nil // a random ID collided: retry with new IDs
	}
	linkType := ""
	if link != nil {
		linkType = link.Type
	}
	for _, l := range looks {
		h, err := l.get()
		if errors.Is(err, storage.ErrNotFound) {
			continue // gone meanwhile
		}
		if err != nil {
			return s.unavailable(ctx, "lookup holder", err)
		}
		if h.ID == self {
			continue
		}
		purged, err := s.purgeIfDue(ctx, h.ID, now)
		if err != nil {
			return err
		}
		if !purged {
			return s.takenAnswer(ctx, op, l.field, linkType, cerr)
		}
	}
	return nil
}

// createAccount inserts a, purging a stale holder of its email or nickname
// and retrying once.
func (s *Service) createAccount(ctx context.Context, a *storage.Account, now time.Time) error {
	for attempt := 0; ; attempt++ {
		err := s.store.CreateAccount(ctx, *a)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return s.unavailable(ctx, "CreateAccount", err)
		}
		if attempt > 0 {
			return s.takenAnswer(ctx, "CreateAccount", storage.ConflictField(err), a.LinkedType, err)
		}
		if err := s.freeConflict(ctx, "CreateAccount", err, &storage.Link{Type: a.LinkedType, ID: a.LinkedID}, a.Nickname, "", now); err != nil {
			return err
		}
		if storage.ConflictField(err) == storage.FieldID {
			a.ID, a.OpenID = newAccountID(), newOpenID()
		}
	}
}

// updateAccount applies u, purging a stale holder of the link or nickname
// it sets and retrying once.
func (s *Service) updateAccount(ctx context.Context, id string, u storage.AccountUpdate, now time.Time) error {
	linkType := ""
	if u.Link != nil {
		linkType = u.Link.Type
	}
	nickname := ""
	if u.Nickname != nil {
		nickname = *u.Nickname
	}
	for attempt := 0; ; attempt++ {
		err := s.store.UpdateAccount(ctx, id, u)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, storage.ErrNotFound):
			return ErrAccountNotFound
		case !errors.Is(err, storage.ErrConflict):
			return s.unavailable(ctx, "UpdateAccount", err)
		case attempt > 0:
			return s.takenAnswer(ctx, "UpdateAccount", storage.ConflictField(err), linkType, err)
		}
		if err := s.freeConflict(ctx, "UpdateAccount", err, u.Link, nickname, id, now); err != nil {
			return err
		}
	}
}

// ---- flows ----

// signUpEmail: API.md /email/signup.
func (s *Service) signUpEmail(ctx context.Context, c client, email, password string, nickname *string) (*tokenResult, error) {
	if err := checkDevice(c.device); err != nil {
		return nil, err
	}
	email = normalizeEmail(email)
	if err := checkEmail("linked_id", email); err != nil {
		return nil, err
	}
	if err := checkNewPassword("linked_password", password); err != nil {
		return nil, err
	}
	nick := ""
	if nickname != nil && *nickname != "" {
		n, err := checkNickname(*nickname)
		if err != nil {
			return nil, err
		}
		nick = n
	}
	now := s.clock()
	if err := s.allow(ctx, now, addrKey(c.addr)); err != nil {
		return nil, err
	}
	if err := s.checkDeviceBlock(ctx, c.device.DeviceID, now); err != nil {
		return nil, err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, s.internal(ctx, "hash", err)
	}
	tz, _ := s.zone(c.timezone, "", now)
	a := storage.Account{
		ID:           newAccountID(),
		OpenID:       newOpenID(),
		LinkedType:   storage.LinkEmail,
		LinkedID:     email,
		PasswordHash: hash,
		Nickname:     nick,
		Country:      s.country(ctx, c),
		Timezone:     tz,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := s.createAccount(ctx, &a, now); err != nil {
		return nil, err
	}
	return s.startSession(ctx, a, c, now, s.keep, func(ctx context.Context) error {
		return s.store.DeleteAccount(ctx, a.ID)
	})
}

// burn verifies password against the dummy hash: an unknown email costs
// what a wrong password costs.
func (s *Service) burn(ctx context.Context, password string) {
	_, _, _ = s.hasher.verify(ctx, s.dummy, password)
}

// signInEmail: API.md /email/signin.
func (s *Service) signInEmail(ctx context.Context, c client, email, password string) (*tokenResult, error) {
	if err := checkDevice(c.device); err != nil {
		return nil, err
	}
	email = normalizeEmail(email)
	if email == "" {
		return nil, invalidField("linked_id", "is required")
	}
	if len(email) > maxEmailBytes {
		return nil, invalidField("linked_id", "is too long")
	}
	if err := checkPresented("linked_password", password); err != nil {
		return nil, err
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(email), addrKey(c.addr)); err != nil {
		return nil, err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkEmail, email)
	if errors.Is(err, storage.ErrNotFound) {
		s.burn(ctx, password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, s.unavailable(ctx, "GetAccountByLink", err)
	}
	ok, stale, err := s.hasher.verify(ctx, a.PasswordHash, password)
	if errors.Is(err, errBadHash) {
		s.log.WarnContext(ctx, "gameauth: account has no usable password hash", "account", a.ID)
		s.burn(ctx, password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, s.internal(ctx, "verify", err)
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	if err := s.checkAccount(ctx, a, c.device.DeviceID, now); err != nil {
		if errors.Is(err, errPurged) {
			return nil, ErrInvalidCredentials
		}
		return nil, err
	}
	var undo func(context.Context) error
	if stale {
		// The parameters changed since this hash was made: rehash now
		// that the password is at hand. Undone if the session fails.
		hash, err := s.hasher.hash(ctx, password)
		if err != nil {
			return nil, s.internal(ctx, "hash", err)
		}
		if err := s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &hash, At: now}); err != nil {
			return nil, s.unavailable(ctx, "UpdateAccount", err)
		}
		old, oldAt := a.PasswordHash, a.UpdatedAt
		undo = func(ctx context.Context) error {
			return s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &old, At: oldAt})
		}
		a.PasswordHash, a.UpdatedAt = hash, now
	}
	return s.startSession(ctx, a, c, now, s.keep, undo)
}

// signInGuest: API.md /guest/signin. Without a key it creates a guest
// account and returns its new key.
func (s *Service) signInGuest(ctx context.Context, c client, key string) (*tokenResult, error) {
	if err := checkDevice(c.device); err != nil {
		return nil, err
	}
	if len(key) > maxSecretField {
		return nil, invalidField("guest_key", "is too long")
	}
	now := s.clock()
	if key == "" {
		if err := s.allow(ctx, now, addrKey(c.addr)); err != nil {
			return nil, err
		}
		if err := s.checkDeviceBlock(ctx, c.device.DeviceID, now); err != nil {
			return nil, err
		}
		key = newGuestKey()
		tz, _ := s.zone(c.timezone, "", now)
		a := storage.Account{
			ID:         newAccountID(),
			OpenID:     newOpenID(),
			LinkedType: storage.LinkGuest,
			LinkedID:   guestLinkID(key),
			Country:    s.country(ctx, c),
			Timezone:   tz,
			CreatedAt:  now,
			UpdatedAt:  now,
		}
		if err := s.createAccount(ctx, &a, now); err != nil {
			return nil, err
		}
		res, err := s.startSession(ctx, a, c, now, s.keep, func(ctx context.Context) error {
			return s.store.DeleteAccount(ctx, a.ID)
		})
		if err != nil {
			return nil, err
		}
		res.guestKey = key
		return res, nil
	}
	link := guestLinkID(key)
	if err := s.allow(ctx, now, acctKey("guest:"+link), addrKey(c.addr)); err != nil {
		return nil, err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkGuest, link)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrInvalidCredentials.with("unknown guest key")
	}
	if err != nil {
		return nil, s.unavailable(ctx, "GetAccountByLink", err)
	}
	if err := s.checkAccount(ctx, a, c.device.DeviceID, now); err != nil {
		if errors.Is(err, errPurged) {
			return nil, ErrInvalidCredentials.with("unknown guest key")
		}
		return nil, err
	}
	return s.startSession(ctx, a, c, now, s.keep, nil)
}

// refresh: API.md /token/refresh. A session that ended elsewhere answers
// first (endedElsewhere), then the account's state, then the session's,
// then the compare-and-swap of the rotation. A store that implements
// storage.Refresher does the common case in one step (refreshFast); the
// rest, and every other store, take the long way below.
func (s *Service) refresh(ctx context.Context, c client, token string) (*tokenResult, error) {
	if token == "" {
		return nil, ErrTokenMissing.with("refresh_token is empty")
	}
	sid, hash, err := s.ring.ParseRefreshToken(token)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	next, nextHash, err := s.ring.NextRefreshToken(token)
	if err != nil {
		return nil, ErrTokenInvalid
	}
	now := s.clock()
	rot := storage.Rotation{Presented: hash, Next: nextHash, Now: now, Grace: s.cfg.RefreshGrace}
	if rf, ok := s.store.(storage.Refresher); ok {
		if res, done, err := s.refreshFast(ctx, rf, c, sid, next, rot); done {
			return res, err
		}
	}
	sess, err := s.session(ctx, sid)
	if err != nil {
		return nil, err
	}
	a, err := s.account(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	if err := endedElsewhere(sess); err != nil {
		return nil, err
	}
	if err := s.checkAccount(ctx, a, sess.DeviceID, now); err != nil {
		if errors.Is(err, errPurged) {
			return nil, ErrAccountNotFound
		}
		return nil, err
	}
	if sess.Revoked() {
		return nil, sessionEnded(sess.RevokeReason)
	}
	if !now.Before(sess.ExpiresAt) {
		return nil, ErrRefreshExpired
	}
	access, _, err := s.issue(a, sid, sess.DeviceID)
	if err != nil {
		return nil, s.internal(ctx, "Issue", err)
	}
	got, err := s.store.RotateRefresh(ctx, sid, rot)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrTokenInvalid
	case errors.Is(err, storage.ErrSessionRevoked):
		return nil, sessionEnded(got.RevokeReason)
	case errors.Is(err, storage.ErrRefreshExpired):
		return nil, ErrRefreshExpired
	case errors.Is(err, storage.ErrRefreshReused):
		return nil, s.reused(ctx, a.ID, sid, now)
	default:
		return nil, s.unavailable(ctx, "RotateRefresh", err)
	}
	return &tokenResult{
		access:    access,
		refresh:   next,
		expiresIn: int64(s.issuer.TTL() / time.Second),
		player:    s.player(a, c.timezone, now),
	}, nil
}

// refreshFast is a refresh in the store's one step (storage.Refresher): the
// common answers straight from it. It reports done false, having written
// nothing, when the precise answer needs the account's state looked up
// (withdrawn, blocked, purged) or the session or account is missing; the
// caller then goes the long way, which gives it exactly as before. Every
// answer it gives itself is the one the long way gives for that state.
func (s *Service) refreshFast(ctx context.Context, rf storage.Refresher, c client, sid, next string,
	rot storage.Rotation) (*tokenResult, bool, error) {
	st, err := rf.Refresh(ctx, sid, rot)
	switch {
	case err == nil && st.Stopped:
		return nil, false, nil
	case err == nil:
		access, _, err := s.issue(st.Account, sid, st.Session.DeviceID)
		if err != nil {
			return nil, true, s.internal(ctx, "Issue", err)
		}
		return &tokenResult{
			access:    access,
			refresh:   next,
			expiresIn: int64(s.issuer.TTL() / time.Second),
			player:    s.player(st.Account, c.timezone, rot.Now),
		}, true, nil
	case errors.Is(err, storage.ErrNotFound):
		return nil, false, nil
	case errors.Is(err, storage.ErrSessionRevoked):
		if st.Session.RevokeReason == storage.ReasonWithdrawn {
			// ACCOUNT_WITHDRAWN with its key while the withdrawal is
			// pending, not found once purged: the long way knows which.
			return nil, false, nil
		}
		return nil, true, sessionEnded(st.Session.RevokeReason)
	case errors.Is(err, storage.ErrRefreshExpired):
		return nil, true, ErrRefreshExpired
	case errors.Is(err, storage.ErrRefreshReused):
		return nil, true, s.reused(ctx, st.Account.ID, sid, rot.Now)
	default:
		return nil, true, s.unavailable(ctx, "Refresh", err)
	}
}

// reused reports a refresh token presented again after its rotation: the
// store has revoked the session.
func (s *Service) reused(ctx context.Context, accountID, sid string, now time.Time) error {
	s.log.WarnContext(ctx, "gameauth: refresh token reused; session revoked", "account", accountID, "session", sid)
	s.revoked(ctx, accountID, []string{sid}, storage.ReasonReused, now)
	return ErrRefreshReused
}

// authed is an authenticated request: a valid access token of a player that
// exists, for a session that exists.
type authed struct {
	claims tokens.Claims
	acct   storage.Account
	sess   storage.Session
}

// authenticate checks an access token the way the middleware does, plus the
// store: the account, a session that ended elsewhere (endedElsewhere), with
// state the account's withdrawal and blocks, then the session. With
// revokedOK a revoked session is returned, not refused.
func (s *Service) authenticate(ctx context.Context, token string, state, revokedOK bool) (*authed, error) {
	if token == "" {
		return nil, ErrTokenMissing
	}
	claims, err := s.verifier.Verify(token)
	if errors.Is(err, tokens.ErrTokenExpired) {
		return nil, ErrTokenExpired
	}
	if err != nil {
		return nil, ErrTokenInvalid
	}
	now := s.clock()
	a, err := s.account(ctx, claims.Subject)
	if err != nil {
		return nil, err
	}
	sess, err := s.session(ctx, claims.SessionID)
	if err != nil {
		return nil, err
	}
	if sess.AccountID != a.ID {
		return nil, ErrTokenInvalid
	}
	if err := endedElsewhere(sess); err != nil && !revokedOK {
		return nil, err
	}
	if state {
		if err := s.checkAccount(ctx, a, claims.DeviceID, now); err != nil {
			if errors.Is(err, errPurged) {
				return nil, ErrAccountNotFound
			}
			return nil, err
		}
	}
	if sess.Revoked() && !revokedOK {
		return nil, sessionEnded(sess.RevokeReason)
	}
	return &authed{claims: claims, acct: a, sess: sess}, nil
}

// endedElsewhere is the answer for a session that ended for another reason
// than its account's withdrawal: it is given before the account's state, so
// that a token whose session was replaced, signed out, caught in reuse or
// ended by a password change or an admin never learns the withdrawal key
// (a bearer secret that restores the account) or the block's details. The
// sessions a withdrawal ended still get ACCOUNT_WITHDRAWN with the key.
func endedElsewhere(sess storage.Session) error {
	if sess.Revoked() && sess.RevokeReason != storage.ReasonWithdrawn {
		return sessionEnded(sess.RevokeReason)
	}
	return nil
}

// statusResult is API.md's token-status answer.
type statusResult struct {
	Status    string     `json:"Status"`
	ExpiresAt string     `json:"ExpiresAt"`
	Player    playerInfo `json:"Player"`
}

// tokenStatus: API.md /token/status: CONNECTED, or the error a sign-in
// would get now.
func (s *Service) tokenStatus(ctx context.Context, token, tz string) (*statusResult, error) {
	au, err := s.authenticate(ctx, token, true, false)
	if err != nil {
		return nil, err
	}
	return &statusResult{
		Status:    "CONNECTED",
		ExpiresAt: au.claims.ExpiresAt.UTC().Format(time.RFC3339),
		Player:    s.player(au.acct, tz, s.clock()),
	}, nil
}

// signOut: API.md /signout. Signing out a session that is already over is
// not an error; signing out everywhere needs a live session.
func (s *Service) signOut(ctx context.Context, token string, all bool) error {
	au, err := s.authenticate(ctx, token, false, true)
	if err != nil {
		return err
	}
	if au.sess.Revoked() {
		if all {
			return sessionEnded(au.sess.RevokeReason)
		}
		return nil
	}
	now := s.clock()
	if all {
		ids, err := s.store.RevokeSessions(ctx, au.acct.ID, "", storage.ReasonSignedOut, now)
		if err != nil {
			return s.unavailable(ctx, "RevokeSessions", err)
		}
		s.revoked(ctx, au.acct.ID, ids, storage.ReasonSignedOut, now)
		return nil
	}
	if err := s.store.RevokeSession(ctx, au.sess.ID, storage.ReasonSignedOut, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s.unavailable(ctx, "RevokeSession", err)
	}
	s.revoked(ctx, au.acct.ID, []string{au.sess.ID}, storage.ReasonSignedOut, now)
	return nil
}

// linkEmail: API.md /email/link. The guest's session is exchanged for a new
// one, since the tokens name the new linked type; the count of live
// sessions stays the same.
func (s *Service) linkEmail(ctx context.Context, token, tz, email, password string) (*tokenResult, error) {
	email = normalizeEmail(email)
	if err := checkEmail("linked_id", email); err != nil {
		return nil, err
	}
	if err := checkNewPassword("linked_password", password); err != nil {
		return nil, err
	}
	au, err := s.authenticate(ctx, token, true, false)
	if err != nil {
		return nil, err
	}
	if au.acct.LinkedType != storage.LinkGuest {
		return nil, ErrInvalidRequest.with("only a guest account can link an email")
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(au.acct.ID)); err != nil {
		return nil, err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, s.internal(ctx, "hash", err)
	}
	old := au.acct
	u := storage.AccountUpdate{Link: &storage.Link{Type: storage.LinkEmail, ID: email}, PasswordHash: &hash, At: now}
	if err := s.updateAccount(ctx, old.ID, u, now); err != nil {
		return nil, err
	}
	undoAccount := func(ctx context.Context) error {
		empty := old.PasswordHash
		return s.store.UpdateAccount(ctx, old.ID, storage.AccountUpdate{
			Link: &storage.Link{Type: old.LinkedType, ID: old.LinkedID}, PasswordHash: &empty, At: old.UpdatedAt,
		})
	}
	a := old
	a.LinkedType, a.LinkedID, a.PasswordHash, a.UpdatedAt = storage.LinkEmail, email, hash, now
	c := client{device: DeviceInfo{Platform: au.sess.Platform, DeviceID: au.sess.DeviceID}, timezone: tz}
	res, err := s.startSession(ctx, a, c, now, 0, undoAccount)
	if err != nil {
		return nil, err
	}
	if err := s.store.RevokeSession(ctx, au.sess.ID, storage.ReasonSignedOut, now); err != nil {
		// Take it all back: the new session was never handed out.
		s.undo(ctx, "linkEmail", func(ctx context.Context) error {
			return s.store.RevokeSession(ctx, res.sessionID, storage.ReasonSignedOut, now)
		})
		s.undo(ctx, "linkEmail", undoAccount)
		return nil, s.unavailable(ctx, "RevokeSession", err)
	}
	s.revoked(ctx, a.ID, []string{au.sess.ID}, storage.ReasonSignedOut, now)
	return res, nil
}

// changePassword: API.md /password. The player's other sessions end.
func (s *Service) changePassword(ctx context.Context, token, current, next string) error {
	if err := checkPresented("linked_password", current); err != nil {
		return err
	}
	if err := checkNewPassword("new_password", next); err != nil {
		return err
	}
	au, err := s.authenticate(ctx, token, true, false)
	if err != nil {
		return err
	}
	a := au.acct
	if a.PasswordHash == "" {
		return invalidField("linked_password", "the account has no password; link an email first")
	}
	now := s.clock()
	key := a.ID
	if a.LinkedType == storage.LinkEmail {
		key = a.LinkedID // shared with sign-in attempts on this email
	}
	if err := s.allow(ctx, now, acctKey(key)); err != nil {
		return err
	}
	ok, _, err := s.hasher.verify(ctx, a.PasswordHash, current)
	if err != nil && !errors.Is(err, errBadHash) {
		return s.internal(ctx, "verify", err)
	}
	if !ok {
		return ErrInvalidCredentials.with("wrong password")
	}
	hash, err := s.hasher.hash(ctx, next)
	if err != nil {
		return s.internal(ctx, "hash", err)
	}
	if err := s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &hash, At: now}); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrAccountNotFound
		}
		return s.unavailable(ctx, "UpdateAccount", err)
	}
	ids, err := s.store.RevokeSessions(ctx, a.ID, au.sess.ID, storage.ReasonPasswordChanged, now)
	if err != nil {
		s.undo(ctx, "changePassword", func(ctx context.Context) error {
			return s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &a.PasswordHash, At: a.UpdatedAt})
		})
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.revoked(ctx, a.ID, ids, storage.ReasonPasswordChanged, now)
	return nil
}

// requestReset: API.md /password/reset. The answer is the same whether or
// not the email exists, and whether or not its daily quota is used up.
func (s *Service) requestReset(ctx context.Context, c client, email string) error {
	email = normalizeEmail(email)
	if err := checkEmail("linked_id", email); err != nil {
		return err
	}
	now := s.clock()
	if err := s.allow(ctx, now, addrKey(c.addr)); err != nil {
		return err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkEmail, email)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return s.unavailable(ctx, "GetAccountByLink", err)
	}
	if purged, err := s.purgeIfDue(ctx, a.ID, now); err != nil || purged {
		return err
	}
	if s.cfg.Mailer == nil {
		s.log.WarnContext(ctx, "gameauth: password reset requested but no Mailer is configured; no code was made", "account", a.ID)
		return nil
	}
	code := newResetCode()
	rc := storage.ResetCode{Email: email, CodeHash: s.resetHash(email, code), CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetCodeTTL)}
	err = s.store.CreateResetCode(ctx, rc, s.cfg.ResetCodesPerDay)
	if errors.Is(err, storage.ErrLimited) {
		s.log.InfoContext(ctx, "gameauth: password reset codes per day used up", "account", a.ID)
		return nil
	}
	if err != nil {
		return s.unavailable(ctx, "CreateResetCode", err)
	}
	if err := s.cfg.Mailer.SendResetCode(ctx, email, code); err != nil {
		// Answered as sent: failing here would tell who has an account.
		// The host's error might quote the code; it is cut out.
		s.log.ErrorContext(ctx, "gameauth: mailer failed to send a reset code", "account", a.ID,
			"err", strings.ReplaceAll(err.Error(), code, "[code]"))
	}
	return nil
}

// confirmReset: API.md /password/reset/confirm. Every session ends.
func (s *Service) confirmReset(ctx context.Context, c client, email, code, password string) error {
	email = normalizeEmail(email)
	if email == "" {
		return invalidField("linked_id", "is required")
	}
	if len(email) > maxEmailBytes {
		return invalidField("linked_id", "is too long")
	}
	if code == "" {
		return invalidField("code", "is required")
	}
	if len(code) > maxSecretField {
		return ErrResetCodeInvalid
	}
	if err := checkNewPassword("new_password", password); err != nil {
		return err
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(email), addrKey(c.addr)); err != nil {
		return err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkEmail, email)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrResetCodeInvalid
	}
	if err != nil {
		return s.unavailable(ctx, "GetAccountByLink", err)
	}
	if purged, err := s.purgeIfDue(ctx, a.ID, now); err != nil || purged {
		if err != nil {
			return err
		}
		return ErrResetCodeInvalid
	}
	// Hash before spending the code, so a slow or cancelled hash never
	// burns it.
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return s.internal(ctx, "hash", err)
	}
	codeHash := s.resetHash(email, code)
	err = s.store.ConsumeResetCode(ctx, email, codeHash, now, s.cfg.ResetCodeAttempts)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrResetCodeInvalid
	}
	if err != nil {
		return s.unavailable(ctx, "ConsumeResetCode", err)
	}
	// A spent code cannot be unspent; if a later step fails, the same code
	// is issued again so that the player's retry works.
	reissue := func(ctx context.Context) error {
		return s.store.CreateResetCode(ctx, storage.ResetCode{
			Email: email, CodeHash: codeHash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetCodeTTL),
		}, math.MaxInt32)
	}
	if err := s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &hash, At: now}); err != nil {
		s.undo(ctx, "confirmReset", reissue)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrResetCodeInvalid
		}
		return s.unavailable(ctx, "UpdateAccount", err)
	}
	ids, err := s.store.RevokeSessions(ctx, a.ID, "", storage.ReasonPasswordChanged, now)
	if err != nil {
		s.undo(ctx, "confirmReset", func(ctx context.Context) error {
			return s.store.UpdateAccount(ctx, a.ID, storage.AccountUpdate{PasswordHash: &a.PasswordHash, At: a.UpdatedAt})
		})
		s.undo(ctx, "confirmReset", reissue)
		return s.unavailable(ctx, "RevokeSessions", err)
	}
	s.revoked(ctx, a.ID, ids, storage.ReasonPasswordChanged, now)
	return nil
}

// nickname: API.md GET /nickname.
func (s *Service) nickname(ctx context.Context, token string) (string, error) {
	au, err := s.authenticate(ctx, token, true, false)
	if err != nil {
		return "", err
	}
	return au.acct.Nickname, nil
}

// setNickname: API.md PUT /nickname.
func (s *Service) setNickname(ctx context.Context, token, nick string) (string, error) {
	nick, err := checkNickname(nick)
	if err != nil {
		return "", err
	}
	au, err := s.authenticate(ctx, token, true, false)
	if err != nil {
		return "", err
	}
	if au.acct.Nickname == nick {
		return nick, nil
	}
	now := s.clock()
	if err := s.updateAccount(ctx, au.acct.ID, storage.AccountUpdate{Nickname: &nick, At: now}, now); err != nil {
		return "", err
	}
	return nick, nil
}

// nicknameExists: API.md /nickname/exists. A holder past its withdrawal
// deadline counts as purged.
func (s *Service) nicknameExists(ctx context.Context, nick string) (bool, error) {
	nick, err := checkNickname(nick)
	if err != nil {
		return false, err
	}
	h, err := s.store.GetAccountByNickname(ctx, nick)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.unavailable(ctx, "GetAccountByNickname", err)
	}
	purged, err := s.purgeIfDue(ctx, h.ID, s.clock())
	if err != nil {
		return false, err
	}
	return !purged, nil
}

// withdrawResult is API.md's /withdrawal answer.
type withdrawResult struct {
	Status         string `json:"Status"`
	WithdrawalKey  string `json:"WithdrawalKey"`
	WithdrawalDate string `json:"WithdrawalDate"`
}

// withdraw: API.md /withdrawal. periodDays 0 takes the default.
func (s *Service) withdraw(ctx context.Context, token string, periodDays int, memo string) (*withdrawResult, error) {
	maxDays := int(s.cfg.MaxWithdrawalPeriod / (24 * time.Hour))
	period := s.cfg.WithdrawalGrace
	if periodDays != 0 {
		if periodDays < 1 || periodDays > maxDays {
			return nil, invalidField("period", "must be between 1 and "+strconv.Itoa(maxDays)+" days")
		}
		period = time.Duration(periodDays) * 24 * time.Hour
	}
	if !utf8.ValidString(memo) || utf8.RuneCountInString(memo) > maxMemoRunes {
		return nil, invalidField("memo", "must be valid text of at most 1000 characters")
	}
	au, err := s.authenticate(ctx, token, true, false)
	if err != nil {
		return nil, err
	}
	// Whole seconds: the key is derived from RequestedAt, and every store
	// keeps whole seconds exactly.
	at := time.Unix(s.clock().Unix(), 0).UTC()
	key := s.withdrawalKey(au.acct.ID, at)
	w := storage.Withdrawal{
		AccountID:   au.acct.ID,
		KeyHash:     hashSecret(key),
		Memo:        memo,
		RequestedAt: at,
		Deadline:    at.Add(period),
	}
	ids, err := s.store.Withdraw(ctx, w)
	if errors.Is(err, storage.ErrConflict) {
		// Another request withdrew it first: answer as a sign-in would.
		if err := s.checkAccount(ctx, au.acct, "", at); err != nil && !errors.Is(err, errPurged) {
			return nil, err
		}
		return nil, ErrAccountNotFound
	}
	if err != nil {
		return nil, s.unavailable(ctx, "Withdraw", err)
	}
	s.log.InfoContext(ctx, "gameauth: account withdrawn", "account", au.acct.ID, "deadline", w.Deadline)
	s.revoked(ctx, au.acct.ID, ids, storage.ReasonWithdrawn, at)
	return &withdrawResult{
		Status:         "WITHDRAWAL_PENDING",
		WithdrawalKey:  key,
		WithdrawalDate: w.Deadline.UTC().Format(time.RFC3339),
	}, nil
}

// searchResult is API.md's /withdrawal/search answer.
type searchResult struct {
	Status         string `json:"Status"`
	Memo           string `json:"Memo"`
	WithdrawalDate string `json:"WithdrawalDate"`
}

// searchWithdrawal: API.md /withdrawal/search.
func (s *Service) searchWithdrawal(ctx context.Context, key string) (*searchResult, error) {
	if key == "" {
		return nil, invalidField("withdrawal_key", "is required")
	}
	if len(key) > maxSecretField {
		return nil, ErrWithdrawalKeyInvalid
	}
	w, err := s.store.GetWithdrawal(ctx, hashSecret(key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrWithdrawalKeyInvalid
	}
	if err != nil {
		return nil, s.unavailable(ctx, "GetWithdrawal", err)
	}
	now := s.clock()
	if !w.PurgedAt.IsZero() {
		return nil, ErrWithdrawalExpired
	}
	if !now.Before(w.Deadline) {
		if err := s.purge(ctx, w.AccountID, now); err != nil {
			return nil, err
		}
		return nil, ErrWithdrawalExpired
	}
	return &searchResult{Status: "WITHDRAWAL_PENDING", Memo: w.Memo, WithdrawalDate: w.Deadline.UTC().Format(time.RFC3339)}, nil
}

// restore: API.md /withdrawal/restore.
func (s *Service) restore(ctx context.Context, c client, key string) error {
	if err := checkDevice(c.device); err != nil {
		return err
	}
	if key == "" {
		return invalidField("withdrawal_key", "is required")
	}
	if len(key) > maxSecretField {
		return ErrWithdrawalKeyInvalid
	}
	now := s.clock()
	if err := s.allow(ctx, now, addrKey(c.addr)); err != nil {
		return err
	}
	if err := s.checkDeviceBlock(ctx, c.device.DeviceID, now); err != nil {
		return err
	}
	kh := hashSecret(key)
	w, err := s.store.Restore(ctx, kh, now)
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "gameauth: account restored", "account", w.AccountID)
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return ErrWithdrawalKeyInvalid
	case errors.Is(err, storage.ErrWithdrawalExpired):
		// Past the deadline it counts as purged; purge it now if the
		// janitor has not.
		w, gerr := s.store.GetWithdrawal(ctx, kh)
		if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
			return s.unavailable(ctx, "GetWithdrawal", gerr)
		}
		if gerr == nil && w.PurgedAt.IsZero() {
			if err := s.purge(ctx, w.AccountID, now); err != nil {
				return err
			}
		}
		return ErrWithdrawalExpired
	default:
		return s.unavailable(ctx, "Restore", err)
	}
}

// blockItem is one item of API.md's /block/reason answer.
type blockItem struct {
	UserID          string   `json:"UserId"`
	Reason          string   `json:"Reason"`
	Permanent       string   `json:"Permanent"`
	ExpireDate      string   `json:"ExpireDate"`
	TimeUntilExpire int64    `json:"TimeUntilExpire"`
	Services        []string `json:"Services"`
}

// blockReason: API.md /block/reason. A block that has ended (lifted or past
// its end) answers no items.
func (s *Service) blockReason(ctx context.Context, key string) ([]blockItem, error) {
	if key == "" {
		return nil, invalidField("block_key", "is required")
	}
	if len(key) > maxSecretField {
		return nil, ErrBlockKeyInvalid
	}
	b, err := s.store.GetBlock(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrBlockKeyInvalid
	}
	if err != nil {
		return nil, s.unavailable(ctx, "GetBlock", err)
	}
	now := s.clock()
	items := []blockItem{}
	if b.ActiveAt(now) {
		it := blockItem{UserID: b.Subject, Reason: b.Reason, Permanent: "Y", ExpireDate: "permanent", TimeUntilExpire: -1, Services: b.Services}
		if !b.Until.IsZero() {
			it.Permanent = "N"
			it.ExpireDate = b.Until.UTC().Format(time.RFC3339)
			it.TimeUntilExpire = int64(b.Until.Sub(now) / time.Second)
		}
		if it.Services == nil {
			it.Services = []string{}
		}
		items = append(items, it)
	}
	return items, nil
}
