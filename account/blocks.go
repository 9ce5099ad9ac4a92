package account

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gameauth/gameauth/storage"
)

// BlockReason returns the block that key names, while it is in force
// (docs/API.md /block/reason): one notice, or none for a block that has
// ended or was lifted. BLOCK_KEY_INVALID for an unknown key.
func (s *Service) BlockReason(ctx context.Context, key string) ([]BlockNotice, error) {
	if err := checkKey("block_key", key, ErrBlockKeyInvalid); err != nil {
		return nil, err
	}
	b, err := s.LookupBlock(ctx, key)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if !b.ActiveAt(now) {
		return []BlockNotice{}, nil
	}
	n := BlockNotice{PlayerID: b.Subject, Reason: b.Reason, Until: b.Until, Services: b.Services}
	if !b.Until.IsZero() {
		n.Remaining = b.Until.Sub(now)
	}
	return []BlockNotice{n}, nil
}

// Limits of a BlockSpec. The reason and the services go out with every
// request the block refuses (ErrorData, /block/reason) and stay in every
// node's revocation view, so they are kept to what a client shows.
const (
	// MaxBlockReason is the longest reason, in characters.
	MaxBlockReason = 500
	// MaxBlockServices is the most services one block covers.
	MaxBlockServices = 32
	// MaxServiceName is the longest service name, in characters, once
	// trimmed.
	MaxServiceName = 64
)

// BlockSpec describes a block to make. A spec the block functions refuse
// (INVALID_REQUEST naming the field) is never made narrower or broader
// than it says: a blank reason, a blank or repeated service and an end
// that is not in the future are refused, not dropped.
type BlockSpec struct {
	// Reason is shown to the player (/block/reason, ErrorData). Required:
	// not empty nor blank, at most MaxBlockReason characters.
	Reason string
	// Until is when the block ends by itself; zero: permanent.
	Until time.Time
	// Services are the services the block covers, e.g. "chat", which the
	// host's routes name (middleware); each is trimmed of surrounding
	// blanks, and must not be blank or repeat another. Empty: the whole
	// account, sign-in included.
	Services []string
}

// BlockPlayer blocks a player and returns the block's key, which the player
// can look the block up by. ErrInvalidRequest for a spec BlockSpec's rules
// refuse, then ErrAccountNotFound for an unknown player.
func (s *Service) BlockPlayer(ctx context.Context, playerID string, b BlockSpec) (key string, err error) {
	if err := checkID("player ID", playerID); err != nil {
		return "", err
	}
	if b, err = s.blockSpec(b); err != nil {
		return "", err
	}
	if _, err := s.account(ctx, playerID); err != nil {
		return "", err
	}
	return s.block(ctx, storage.BlockPlayer, playerID, b)
}

// UnblockPlayer lifts every block of the player in force now. Lifting
// nothing is not an error; ErrAccountNotFound for an unknown player.
func (s *Service) UnblockPlayer(ctx context.Context, playerID string) error {
	if err := checkID("player ID", playerID); err != nil {
		return err
	}
	if _, err := s.account(ctx, playerID); err != nil {
		return err
	}
	return s.unblock(ctx, storage.BlockPlayer, playerID)
}

// BlockDevice blocks a device, by the device_id its requests send, and
// returns the block's key. ErrInvalidRequest for a spec BlockSpec's rules
// refuse.
func (s *Service) BlockDevice(ctx context.Context, deviceID string, b BlockSpec) (key string, err error) {
	if err := checkID("device ID", deviceID); err != nil {
		return "", err
	}
	if b, err = s.blockSpec(b); err != nil {
		return "", err
	}
	return s.block(ctx, storage.BlockDevice, deviceID, b)
}

// UnblockDevice lifts every block of the device in force now. Devices have
// no registry: a device with no block in force is no error, whether or not
// it was ever seen.
func (s *Service) UnblockDevice(ctx context.Context, deviceID string) error {
	return s.unblock(ctx, storage.BlockDevice, deviceID)
}

// LookupBlock returns the block with that key, in force or not, or
// ErrBlockKeyInvalid.
func (s *Service) LookupBlock(ctx context.Context, key string) (storage.Block, error) {
	if err := checkText("block key", key); err != nil {
		return storage.Block{}, err
	}
	b, err := s.store.GetBlock(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Block{}, ErrBlockKeyInvalid
	}
	if err != nil {
		return storage.Block{}, s.unavailable(ctx, "GetBlock", err)
	}
	return b, nil
}

// blockSpec checks spec by BlockSpec's rules and returns it as it is kept:
// its services trimmed. Nothing is dropped: what it cannot keep as it was
// meant, it refuses.
func (s *Service) blockSpec(spec BlockSpec) (BlockSpec, error) {
	if err := checkText("reason", spec.Reason); err != nil {
		return spec, err
	}
	if strings.TrimSpace(spec.Reason) == "" {
		return spec, invalidField("reason", "is required")
	}
	if utf8.RuneCountInString(spec.Reason) > MaxBlockReason {
		return spec, invalidField("reason", "is longer than "+strconv.Itoa(MaxBlockReason)+" characters")
	}
	if len(spec.Services) > MaxBlockServices {
		return spec, invalidField("services", "has more than "+strconv.Itoa(MaxBlockServices)+" entries")
	}
	if !spec.Until.IsZero() && !spec.Until.After(s.clock()) {
		return spec, ErrInvalidRequest.with("block end is not in the future")
	}
	var services []string
	for i, sv := range spec.Services {
		if err := checkText("services", sv); err != nil {
			return spec, err
		}
		sv = strings.TrimSpace(sv)
		if sv == "" {
			return spec, invalidField("services", "entry "+strconv.Itoa(i+1)+" is blank")
		}
		if utf8.RuneCountInString(sv) > MaxServiceName {
			return spec, invalidField("services", "entry "+strconv.Itoa(i+1)+" is longer than "+strconv.Itoa(MaxServiceName)+" characters")
		}
		if slices.Contains(services, sv) {
			return spec, invalidField("services", "entry "+strconv.Itoa(i+1)+" repeats another")
		}
		services = append(services, sv)
	}
	spec.Services = services
	return spec, nil
}

// block makes the block spec, which blockSpec checked, on subject.
func (s *Service) block(ctx context.Context, kind storage.BlockKind, subject string, spec BlockSpec) (string, error) {
	now := s.clock()
	for attempt := 0; ; attempt++ {
		b := storage.Block{
			Key:       newBlockKey(),
			Kind:      kind,
			Subject:   subject,
			Reason:    spec.Reason,
			Services:  spec.Services,
			CreatedAt: now,
			Until:     spec.Until,
		}
		err := s.store.CreateBlock(ctx, b)
		if errors.Is(err, storage.ErrConflict) && attempt < 2 {
			continue // a random key collided
		}
		if err != nil {
			return "", s.unavailable(ctx, "CreateBlock", err)
		}
		s.log.InfoContext(ctx, "gameauth: block created", "kind", string(kind), "subject", subject, "until", spec.Until, "services", spec.Services)
		if s.cfg.Events != nil {
			s.cfg.Events.BlockChanged(ctx, b)
		}
		s.observe(ctx, blockEvent(EventBlockAdded, b))
		return b.Key, nil
	}
}

func (s *Service) unblock(ctx context.Context, kind storage.BlockKind, subject string) error {
	if err := checkID(string(kind)+" ID", subject); err != nil {
		return err
	}
	now := s.clock()
	active, err := s.store.ActiveBlocks(ctx, kind, subject, now)
	if err != nil {
		return s.unavailable(ctx, "ActiveBlocks", err)
	}
	if len(active) == 0 {
		return nil
	}
	if _, err := s.store.LiftBlocks(ctx, kind, subject, now); err != nil {
		return s.unavailable(ctx, "LiftBlocks", err)
	}
	s.log.InfoContext(ctx, "gameauth: blocks lifted", "kind", string(kind), "subject", subject, "count", len(active))
	for _, b := range active {
		b.LiftedAt = now
		if s.cfg.Events != nil {
			s.cfg.Events.BlockChanged(ctx, b)
		}
		s.observe(ctx, blockEvent(EventBlockRemoved, b))
	}
	return nil
}

// blockEvent is the event of a block's change: the player or the device
// it stops, and its reason (an operator's words about the player, never
// the player's own).
func blockEvent(kind string, b storage.Block) Event {
	e := Event{Kind: kind, Reason: b.Reason}
	if b.Kind == storage.BlockDevice {
		e.DeviceID = b.Subject
	} else {
		e.PlayerID = b.Subject
	}
	return e
}
