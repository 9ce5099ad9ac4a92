package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Bounds on the argon2id parameters the service makes or accepts from a
// stored hash, so that a corrupt record cannot make a sign-in allocate
// gigabytes or loop for minutes.
const (
	maxArgonMemory = 4 * 1024 * 1024 // KiB: 4 GiB
	maxArgonTime   = 64
	minArgonKeyLen = 16
	maxArgonKeyLen = 128
	minArgonSalt   = 8
	maxArgonSalt   = 64
)

var errBadHash = errors.New("account: malformed password hash")

func (p Argon2Params) check() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory:
		return fmt.Errorf("account: argon2 Memory %d KiB out of range", p.Memory)
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("account: argon2 Time %d out of range", p.Time)
	case p.KeyLen < minArgonKeyLen || p.KeyLen > maxArgonKeyLen:
		return fmt.Errorf("account: argon2 KeyLen %d out of range", p.KeyLen)
	case p.SaltLen < minArgonSalt || p.SaltLen > maxArgonSalt:
		return fmt.Errorf("account: argon2 SaltLen %d out of range", p.SaltLen)
	}
	return nil
}

// hasher makes and checks argon2id hashes in the PHC string format,
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// (unpadded standard base64), at most sem's capacity at a time: each run
// holds Memory KiB, so an unbounded burst of sign-ins would exhaust memory.
type hasher struct {
	params Argon2Params
	sem    chan struct{}
	runs   atomic.Int64 // argon2 runs so far, for tests of equal work
}

func newHasher(p Argon2Params, concurrency int) *hasher {
	return &hasher{params: p, sem: make(chan struct{}, concurrency)}
}

// run computes the argon2id key, waiting for a slot.
func (h *hasher) run(ctx context.Context, password, salt []byte, p Argon2Params) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	h.runs.Add(1)
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// hash returns the PHC string of password under the configured parameters.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key, err := h.run(ctx, []byte(password), salt, p)
	if err != nil {
		return "", err
	}
	return encodePHC(p, salt, key), nil
}

// verify reports whether password matches the PHC string phc, and whether
// phc was made with other parameters than the configured ones (the caller
// then rehashes). A malformed phc is errBadHash.
func (h *hasher) verify(ctx context.Context, phc, password string) (ok, stale bool, err error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, false, err
	}
	got, err := h.run(ctx, []byte(password), salt, p)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1
	cur := h.params
	stale = p.Memory != cur.Memory || p.Time != cur.Time || p.Threads != cur.Threads ||
		p.KeyLen != cur.KeyLen || uint32(len(salt)) != cur.SaltLen
	return ok, stale, nil
}

var phcB64 = base64.RawStdEncoding

func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, phcB64.EncodeToString(salt), phcB64.EncodeToString(key))
}

func decodePHC(s string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, found := strings.Cut(kv, "=")
		if !found {
			return p, nil, nil, errBadHash
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errBadHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errBadHash
		}
	}
	if salt, err = phcB64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errBadHash
	}
	if key, err = phcB64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, errBadHash
	}
	p.KeyLen, p.SaltLen = uint32(len(key)), uint32(len(salt))
	if p.Threads == 0 || p.check() != nil {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
