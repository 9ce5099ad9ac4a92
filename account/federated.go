package account

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gameauth/gameauth/federated"
	"github.com/gameauth/gameauth/storage"
)

// Providers verifies the credentials a game client obtained from a
// platform SDK into an identity; *federated.Set is one.
type Providers interface {
	Verify(ctx context.Context, provider string, c federated.Credential) (federated.Identity, error)
}

// LinkedIdentity is one way a player signs in (docs/API.md GET
// /identities).
type LinkedIdentity struct {
	// LinkedType is "email", "guest" or a provider's name; LinkedID the
	// email or the provider's subject, "" for a guest.
	LinkedType string
	LinkedID   string
	LinkedAt   time.Time
}

// federatedType reports whether a linked type is a federated provider's:
// anything but email and guest.
func federatedType(t string) bool { return t != storage.LinkEmail && t != storage.LinkGuest }

// identities is the store's storage.Identities, and the verifier of
// platform credentials: PROVIDER_NOT_CONFIGURED when either is missing.
func (s *Service) identities() (storage.Identities, error) {
	ids, ok := s.store.(storage.Identities)
	if !ok || s.cfg.Providers == nil {
		return nil, ErrProviderNotConfigured.with("platform sign-in is not configured")
	}
	return ids, nil
}

// verifyCredential checks provider's name and has it verify cred, mapping
// its answers to the contract's codes: a vendor that cannot be reached is
// PROVIDER_UNAVAILABLE, never a 401 that would make a client sign the
// player out.
func (s *Service) verifyCredential(ctx context.Context, provider string, cred federated.Credential) (federated.Identity, error) {
	if err := checkProvider(provider); err != nil {
		return federated.Identity{}, err
	}
	id, err := s.cfg.Providers.Verify(ctx, provider, cred)
	var fe *federated.FieldError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		return id, invalidField(fe.Field, fe.Problem)
	case errors.Is(err, federated.ErrNotConfigured):
		return id, ErrProviderNotConfigured
	case errors.Is(err, federated.ErrInvalidCredential):
		return id, ErrProviderTokenInvalid
	case ctx.Err() != nil:
		return id, s.internal(ctx, "federated.Verify", err)
	default:
		if ok, left := s.failures.allow("federated "+provider, s.clock()); ok {
			s.log.WarnContext(ctx, "gameauth: sign-in provider unavailable", "provider", provider, "err", err, "suppressed", left)
		}
		return id, ErrProviderUnavailable
	}
	if id.Subject == "" || checkText("provider", id.Subject) != nil {
		return id, ErrProviderTokenInvalid
	}
	return id, nil
}

// checkProvider checks the name of a provider a request names.
func checkProvider(provider string) error {
	switch {
	case provider == "":
		return invalidField("provider", "is required")
	case len(provider) > maxShortField:
		return invalidField("provider", "is too long")
	case !federatedType(provider):
		return invalidField("provider", "must name a platform, not "+provider)
	}
	return checkText("provider", provider)
}

// SignInFederated signs a player in with a credential from a platform SDK
// (docs/API.md /federated/signin): the identity the provider vouches for
// signs in to its account, and when no account has it yet, to a new one
// (the Grant is then Created). Withdrawal, blocks, the single-device policy
// and rate limits apply as to an email sign-in.
func (s *Service) SignInFederated(ctx context.Context, c Client, provider string, cred federated.Credential) (g *Grant, err error) {
	// The method the events name is the provider once it is known to be
	// one: a client's made-up name never reaches the audit log.
	var who string
	method := "federated"
	defer func() { s.signInEvent(ctx, c, method, who, g, err) }()
	if err := checkDevice(c.Device); err != nil {
		return nil, err
	}
	if _, err = s.identities(); err != nil {
		return nil, err
	}
	now := s.clock()
	// The address before the vendor is asked, so that nobody can make
	// this server hammer a vendor on their behalf.
	if err := s.allow(ctx, now, addrKey(c.Addr)); err != nil {
		return nil, err
	}
	id, err := s.verifyCredential(ctx, provider, cred)
	if !errors.Is(err, ErrProviderNotConfigured) && !errors.Is(err, ErrInvalidRequest) {
		method = provider
	}
	if err != nil {
		return nil, err
	}
	if err := s.allow(ctx, now, acctKey(provider+":"+id.Subject)); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		a, err := s.store.GetAccountByLink(ctx, provider, id.Subject)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return nil, s.unavailable(ctx, "GetAccountByLink", err)
		default:
			who = a.ID
			err := s.checkAccount(ctx, a, c.Device.DeviceID, now)
			if err == nil {
				return s.startSession(ctx, a, c, now, s.keep, nil)
			}
			if !errors.Is(err, errPurged) {
				return nil, err
			}
		}
		if err := s.checkDeviceBlock(ctx, c.Device.DeviceID, now); err != nil {
			return nil, err
		}
		g, err := s.signUp(ctx, c, storage.Account{LinkedType: provider, LinkedID: id.Subject}, now)
		if errors.Is(err, ErrIdentityTaken) && attempt == 0 {
			continue // a sign-in racing this one created it: sign in to it
		}
		return g, err
	}
}

// LinkFederated adds the identity a platform credential proves to p's
// account (docs/API.md /federated/link): a guest keeps its data and stops
// being a guest, the identity becoming its LinkedType; any other account
// keeps its LinkedType and gains a way to sign in. IDENTITY_TAKEN when
// another account has the identity (nothing of it is revealed),
// PROVIDER_ALREADY_LINKED when the player has an identity of that
// provider. The player's session is exchanged for a new one on the same
// device, as with LinkEmail; timezone is the request's, or "".
func (s *Service) LinkFederated(ctx context.Context, p Principal, timezone, provider string, cred federated.Credential) (*Grant, error) {
	ids, err := s.identities()
	if err != nil {
		return nil, err
	}
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	a, sess, err := s.authorizeSession(ctx, p)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if err := s.allow(ctx, now, acctKey(a.ID)); err != nil {
		return nil, err
	}
	id, err := s.verifyCredential(ctx, provider, cred)
	if err != nil {
		return nil, err
	}
	link := storage.Link{Type: provider, ID: id.Subject}
	var undo func(context.Context) error
	for attempt := 0; undo == nil; attempt++ {
		if attempt > 0 {
			// Another link made the guest a linked account while the
			// vendor answered: add this one beside it.
			if a, err = s.account(ctx, a.ID); err != nil {
				return nil, err
			}
		}
		have, err := ids.ListIdentities(ctx, a.ID)
		if err != nil {
			return nil, s.unavailable(ctx, "ListIdentities", err)
		}
		if slices.ContainsFunc(have, func(i storage.Identity) bool { return i.Type == provider }) {
			return nil, ErrProviderAlreadyLinked
		}
		if a.LinkedType != storage.LinkGuest {
			if err := s.linkIdentity(ctx, ids, a.ID, storage.Identity{Type: link.Type, Subject: link.ID, LinkedAt: now}, now); err != nil {
				return nil, err
			}
			undo = func(ctx context.Context) error {
				return ids.UnlinkIdentity(ctx, a.ID, link.Type, nil, now)
			}
			break
		}
		// Written only while the account is still this guest.
		old, guest := a, storage.Link{Type: a.LinkedType, ID: a.LinkedID}
		err = s.updateAccount(ctx, a.ID, storage.AccountUpdate{Link: &link, IfLink: &guest, At: now}, now)
		if errors.Is(err, errLinkChanged) {
			if attempt == 0 {
				continue
			}
			// Linked and taken back again meanwhile: rare enough to leave
			// to the client's retry.
			return nil, ErrUnavailable.with("the account changed while linking; try again")
		}
		if err != nil {
			return nil, err
		}
		undo = func(ctx context.Context) error {
			return s.store.UpdateAccount(ctx, old.ID, storage.AccountUpdate{Link: &guest, IfLink: &link, At: old.UpdatedAt})
		}
		a.LinkedType, a.LinkedID, a.UpdatedAt = link.Type, link.ID, now
	}
	g, err := s.exchangeSession(ctx, a, sess, timezone, now, undo)
	if err == nil {
		s.observe(ctx, Event{Kind: EventIdentityLinked, PlayerID: a.ID, SessionID: g.SessionID, DeviceID: sess.DeviceID, Reason: provider})
	}
	return g, err
}

// linkIdentity adds id to the account, purging a stale holder of it (a
// withdrawal past its deadline) and retrying once.
func (s *Service) linkIdentity(ctx context.Context, ids storage.Identities, accountID string, id storage.Identity, now time.Time) error {
	for attempt := 0; ; attempt++ {
		err := ids.LinkIdentity(ctx, accountID, id)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, storage.ErrNotFound):
			return ErrAccountNotFound
		case !errors.Is(err, storage.ErrConflict):
			return s.unavailable(ctx, "LinkIdentity", err)
		case attempt > 0:
			return s.takenAnswer(ctx, "LinkIdentity", storage.ConflictField(err), id.Type, err)
		}
		link := id.Link()
		if err := s.freeConflict(ctx, "LinkIdentity", err, &link, "", accountID, now); err != nil {
			return err
		}
	}
}

// UnlinkFederated removes p's identity of provider (docs/API.md
// /federated/unlink). LAST_IDENTITY when it is the player's only way to
// sign in. When it was the account's LinkedType, the player's email, else
// their oldest other identity, takes its place.
func (s *Service) UnlinkFederated(ctx context.Context, p Principal, provider string) error {
	ids, err := s.identities()
	if err != nil {
		return err
	}
	if err := checkProvider(provider); err != nil {
		return err
	}
	a, err := s.authorize(ctx, p)
	if err != nil {
		return err
	}
	have, err := ids.ListIdentities(ctx, a.ID)
	if err != nil {
		return s.unavailable(ctx, "ListIdentities", err)
	}
	if !slices.ContainsFunc(have, func(i storage.Identity) bool { return i.Type == provider }) {
		return invalidField("provider", "is not linked to this player")
	}
	var promote *storage.Link
	if a.LinkedType == provider {
		others := slices.DeleteFunc(slices.Clone(have), func(i storage.Identity) bool { return i.Type == provider })
		if len(others) == 0 {
			return ErrLastIdentity
		}
		next := others[0]
		if i := slices.IndexFunc(others, func(i storage.Identity) bool { return i.Type == storage.LinkEmail }); i >= 0 {
			next = others[i]
		}
		l := next.Link()
		promote = &l
	}
	err = ids.UnlinkIdentity(ctx, a.ID, provider, promote, s.clock())
	switch {
	case err == nil:
		s.observe(ctx, Event{Kind: EventIdentityUnlinked, PlayerID: a.ID, SessionID: p.SessionID, DeviceID: p.DeviceID, Reason: provider})
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return invalidField("provider", "is not linked to this player")
	case errors.Is(err, storage.ErrConflict):
		return ErrLastIdentity // the one to take its place went meanwhile
	}
	return s.unavailable(ctx, "UnlinkIdentity", err)
}

// Identities lists p's ways to sign in (docs/API.md GET /identities). A
// store without storage.Identities has the account's one.
func (s *Service) Identities(ctx context.Context, p Principal) ([]LinkedIdentity, error) {
	a, err := s.authorize(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.identitiesOf(ctx, a)
}
