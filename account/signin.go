package account

import (
	"context"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/tokens"
)

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

// newSession makes a session for a on c's device, and the grant of its
// tokens, to be stored.
func (s *Service) newSession(ctx context.Context, a storage.Account, c Client, now time.Time) (storage.Session, *Grant, error) {
	sid := newSessionID()
	refresh, rhash, err := s.ring.NewRefreshToken(sid)
	if err != nil {
		return storage.Session{}, nil, s.internal(ctx, "NewRefreshToken", err)
	}
	access, _, err := s.issue(a, sid, c.Device.DeviceID)
	if err != nil {
		return storage.Session{}, nil, s.internal(ctx, "Issue", err)
	}
	sess := storage.Session{
		ID:          sid,
		AccountID:   a.ID,
		DeviceID:    c.Device.DeviceID,
		Platform:    c.Device.Platform,
		CreatedAt:   now,
		ExpiresAt:   now.Add(s.cfg.RefreshTTL),
		RefreshHash: rhash,
		RotatedAt:   now,
		DeviceModel: c.Device.DeviceModel,
	}
	if c.Addr.IsValid() {
		sess.ClientAddr = c.Addr.String()
	}
	return sess, &Grant{
		AccessToken:  access,
		RefreshToken: refresh,
		ExpiresIn:    s.issuer.TTL(),
		Player:       s.player(a, c.Timezone, now),
		SessionID:    sid,
	}, nil
}

// startSession creates a session for a on c's device and signs its tokens.
// Creating the session is the flow's last write; when it fails, undo takes
// the flow's earlier writes back. keep is CreateSession's keep.
func (s *Service) startSession(ctx context.Context, a storage.Account, c Client, now time.Time, keep int,
	undo func(context.Context) error) (*Grant, error) {
	sess, g, err := s.newSession(ctx, a, c, now)
	if err != nil {
		s.undo(ctx, "startSession", undo)
		return nil, err
	}
	replaced, err := s.store.CreateSession(ctx, sess, keep)
	if err != nil {
		s.undo(ctx, "startSession", undo)
		return nil, s.unavailable(ctx, "CreateSession", err)
	}
	s.revoked(ctx, a.ID, replaced, storage.ReasonReplaced, now)
	return g, nil
}

// takenAnswer maps a unique-field conflict to its docs/API.md answer.
func (s *Service) takenAnswer(ctx context.Context, op, field, linkType string, err error) error {
	switch {
	case field == storage.FieldNickname:
		return ErrNicknameTaken
	case field == storage.FieldIdentityType:
		return ErrProviderAlreadyLinked
	case field != storage.FieldLink && field != "":
	case linkType == storage.LinkEmail:
		return ErrEmailTaken
	case federatedType(linkType):
		return ErrIdentityTaken
	}
	return s.unavailable(ctx, op, err)
}

// freeConflict looks at who holds the unique value a write conflicted on.
// A holder whose withdrawal is past its deadline counts as purged: it is
// purged now and freeConflict returns nil, so the caller retries once.
// Otherwise it returns the docs/API.md answer (EMAIL_TAKEN, NICKNAME_TAKEN).
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
		case u.IfLink != nil && storage.ConflictField(err) == storage.FieldState:
			return errLinkChanged
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

// errLinkChanged is updateAccount's answer when the update named the link
// it replaces (IfLink) and the account no longer has it: another link got
// there first. Callers turn it into their own answer.
var errLinkChanged = errors.New("account: the account's linked identity changed meanwhile")

// SignUpEmail creates an account for email and password, with an optional
// nickname ("" for none), and signs it in on c's device (docs/API.md
// /email/signup). EMAIL_TAKEN or NICKNAME_TAKEN when another account holds
// them.
func (s *Service) SignUpEmail(ctx context.Context, c Client, email, password, nickname string) (g *Grant, err error) {
	defer func() { s.signInEvent(ctx, c, storage.LinkEmail, "", g, err) }()
	if err := checkDevice(c.Device); err != nil {
		return nil, err
	}
	email, err = newEmail("linked_id", email)
	if err != nil {
		return nil, err
	}
	if err := checkNewPassword("linked_password", password); err != nil {
		return nil, err
	}
	nick := ""
	if nickname != "" {
		n, err := checkNickname(nickname)
		if err != nil {
			return nil, err
		}
		nick = n
	}
	now := s.clock()
	if err := s.allow(ctx, now, addrKey(c.Addr)); err != nil {
		return nil, err
	}
	if err := s.checkDeviceBlock(ctx, c.Device.DeviceID, now); err != nil {
		return nil, err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, s.internal(ctx, "hash", err)
	}
	return s.signUp(ctx, c, storage.Account{LinkedType: storage.LinkEmail, LinkedID: email, PasswordHash: hash, Nickname: nick}, now)
}

// signUp creates a — its IDs, country, time zone and times filled in here —
// and signs it in on c's device: a sign-in that created the account, with
// the account and its first session written together (register). A stale
// holder of its email or nickname is purged and the write tried once more;
// a random ID that collided is drawn again.
func (s *Service) signUp(ctx context.Context, c Client, a storage.Account, now time.Time) (*Grant, error) {
	a.ID, a.OpenID = newAccountID(), newOpenID()
	a.Country = s.country(ctx, c)
	a.Timezone, _ = s.zone(c.Timezone, "", now)
	a.CreatedAt, a.UpdatedAt = now, now
	for attempt := 0; ; attempt++ {
		sess, g, err := s.newSession(ctx, a, c, now)
		if err != nil {
			return nil, err
		}
		op, err := s.register(ctx, a, sess)
		switch {
		case err == nil:
			g.Created = true
			return g, nil
		case !errors.Is(err, storage.ErrConflict):
			return nil, s.unavailable(ctx, op, err)
		case attempt > 0:
			return nil, s.takenAnswer(ctx, op, storage.ConflictField(err), a.LinkedType, err)
		}
		if err := s.freeConflict(ctx, op, err, &storage.Link{Type: a.LinkedType, ID: a.LinkedID}, a.Nickname, "", now); err != nil {
			return nil, err
		}
		if storage.ConflictField(err) == storage.FieldID {
			a.ID, a.OpenID = newAccountID(), newOpenID()
		}
	}
}

// register writes a new account and its first session, both or neither: in
// one step (one commit on a database) on a store that implements
// storage.Registrar; otherwise the account, then the session, and if the
// session fails the account goes again. A new account has no session for
// the new one to replace. op names the store call that failed.
func (s *Service) register(ctx context.Context, a storage.Account, sess storage.Session) (op string, err error) {
	if reg, ok := s.store.(storage.Registrar); ok {
		return "Register", reg.Register(ctx, a, sess)
	}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return "CreateAccount", err
	}
	if _, err := s.store.CreateSession(ctx, sess, 0); err != nil {
		s.undo(ctx, "register", func(ctx context.Context) error { return s.store.DeleteAccount(ctx, a.ID) })
		return "CreateSession", err
	}
	return "", nil
}

// burn verifies password against the dummy hash: an unknown email costs
// what a wrong password costs.
func (s *Service) burn(ctx context.Context, password string) {
	_, _, _ = s.hasher.verify(ctx, s.dummy, password)
}

// SignInEmail signs the account of email in on c's device, if password is
// its password (docs/API.md /email/signin). An unknown email and a wrong
// password get the same answer, INVALID_CREDENTIALS, after the same work.
func (s *Service) SignInEmail(ctx context.Context, c Client, email, password string) (g *Grant, err error) {
	var who string
	defer func() { s.signInEvent(ctx, c, storage.LinkEmail, who, g, err) }()
	if err := checkDevice(c.Device); err != nil {
		return nil, err
	}
	email, err = presentedEmail("linked_id", email)
	if err != nil {
		return nil, err
	}
	if err := checkPresented("linked_password", password); err != nil {
		return nil, err
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(email), addrKey(c.Addr)); err != nil {
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
	who = a.ID
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
	if err := s.checkAccount(ctx, a, c.Device.DeviceID, now); err != nil {
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

// SignInGuest signs a guest in on c's device by its guest key (docs/API.md
// /guest/signin). Without a key it creates a guest account: the Grant is
// then Created and carries the new key, which is shown only this once.
func (s *Service) SignInGuest(ctx context.Context, c Client, key string) (g *Grant, err error) {
	var who string
	defer func() { s.signInEvent(ctx, c, storage.LinkGuest, who, g, err) }()
	if err := checkDevice(c.Device); err != nil {
		return nil, err
	}
	if key != "" {
		if err := checkKey("guest_key", key, invalidField("guest_key", "is too long")); err != nil {
			return nil, err
		}
	}
	now := s.clock()
	if key == "" {
		if err := s.allow(ctx, now, addrKey(c.Addr)); err != nil {
			return nil, err
		}
		if err := s.checkDeviceBlock(ctx, c.Device.DeviceID, now); err != nil {
			return nil, err
		}
		key = newGuestKey()
		res, err := s.signUp(ctx, c, storage.Account{LinkedType: storage.LinkGuest, LinkedID: guestLinkID(key)}, now)
		if err != nil {
			return nil, err
		}
		res.GuestKey = key
		return res, nil
	}
	link := guestLinkID(key)
	if err := s.allow(ctx, now, acctKey("guest:"+link), addrKey(c.Addr)); err != nil {
		return nil, err
	}
	a, err := s.store.GetAccountByLink(ctx, storage.LinkGuest, link)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrInvalidCredentials.with("unknown guest key")
	}
	if err != nil {
		return nil, s.unavailable(ctx, "GetAccountByLink", err)
	}
	who = a.ID
	if err := s.checkAccount(ctx, a, c.Device.DeviceID, now); err != nil {
		if errors.Is(err, errPurged) {
			return nil, ErrInvalidCredentials.with("unknown guest key")
		}
		return nil, err
	}
	return s.startSession(ctx, a, c, now, s.keep, nil)
}

// LinkEmail gives the guest p an email and password to sign in with
// (docs/API.md /email/link): the account keeps its data and stops being a
// guest. The guest's session is exchanged for a new one on the same device,
// since the tokens name the linked type, so the count of live sessions stays
// the same. timezone is the request's, or "".
func (s *Service) LinkEmail(ctx context.Context, p Principal, timezone, email, password string) (*Grant, error) {
	email, err := newEmail("linked_id", email)
	if err != nil {
		return nil, err
	}
	if err := checkNewPassword("linked_password", password); err != nil {
		return nil, err
	}
	acct, sess, err := s.authorizeSession(ctx, p)
	if err != nil {
		return nil, err
	}
	if acct.LinkedType != storage.LinkGuest {
		return nil, ErrInvalidRequest.with("only a guest account can link an email")
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(acct.ID)); err != nil {
		return nil, err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, s.internal(ctx, "hash", err)
	}
	old := acct
	guest, linked := storage.Link{Type: old.LinkedType, ID: old.LinkedID}, storage.Link{Type: storage.LinkEmail, ID: email}
	// Written only while the account is still this guest: a link racing
	// this one (email or platform) may have replaced it meanwhile.
	u := storage.AccountUpdate{Link: &linked, IfLink: &guest, PasswordHash: &hash, At: now}
	if err := s.updateAccount(ctx, old.ID, u, now); err != nil {
		if errors.Is(err, errLinkChanged) {
			return nil, ErrInvalidRequest.with("only a guest account can link an email")
		}
		return nil, err
	}
	undoAccount := func(ctx context.Context) error {
		empty := old.PasswordHash
		return s.store.UpdateAccount(ctx, old.ID, storage.AccountUpdate{
			Link: &guest, IfLink: &linked, PasswordHash: &empty, At: old.UpdatedAt,
		})
	}
	a := old
	a.LinkedType, a.LinkedID, a.PasswordHash, a.UpdatedAt = storage.LinkEmail, email, hash, now
	g, err := s.exchangeSession(ctx, a, sess, timezone, now, undoAccount)
	if err == nil {
		s.observe(ctx, Event{Kind: EventIdentityLinked, PlayerID: a.ID, SessionID: g.SessionID, DeviceID: sess.DeviceID, Reason: storage.LinkEmail})
	}
	return g, err
}

// exchangeSession replaces sess, a session of a, by a new one on the same
// device, after a change the tokens name (the linked type): the last step
// of a link. undo takes the link back if this step fails; then the new
// session, never handed out, is revoked too.
func (s *Service) exchangeSession(ctx context.Context, a storage.Account, sess storage.Session, timezone string, now time.Time,
	undo func(context.Context) error) (*Grant, error) {
	c := Client{Device: DeviceInfo{Platform: sess.Platform, DeviceID: sess.DeviceID}, Timezone: timezone}
	res, err := s.startSession(ctx, a, c, now, 0, undo)
	if err != nil {
		return nil, err
	}
	if err := s.store.RevokeSession(ctx, sess.ID, storage.ReasonSignedOut, now); err != nil {
		s.undo(ctx, "exchangeSession", func(ctx context.Context) error {
			return s.store.RevokeSession(ctx, res.SessionID, storage.ReasonSignedOut, now)
		})
		s.undo(ctx, "exchangeSession", undo)
		return nil, s.unavailable(ctx, "RevokeSession", err)
	}
	s.revoked(ctx, a.ID, []string{sess.ID}, storage.ReasonSignedOut, now)
	return res, nil
}
