package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/gameauth/gameauth/storage"
)

// Formats of storage.Key.Private: one prefix byte, then the body.
const (
	privRaw    byte = 0 // the raw private part
	privSealed byte = 1 // 12-byte nonce, then AES-256-GCM ciphertext and tag
)

// sealAAD binds a sealed private part to its record, so that a sealed part
// copied onto another key's record does not open.
func sealAAD(k storage.Key) []byte {
	return []byte("gameauth/tokens/key/v1\x00" + k.ID + "\x00" + k.Use + "\x00" + k.Algorithm)
}

func newGCM(kek []byte) cipher.AEAD {
	block, err := aes.NewCipher(kek)
	if err != nil {
		panic("tokens: KEK: " + err.Error()) // length checked in OpenRing
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic("tokens: KEK: " + err.Error())
	}
	return gcm
}

// seal encodes priv for k.Private: sealed under the KEK when there is one.
func (r *Ring) seal(k storage.Key, priv []byte) []byte {
	if r.kek == nil {
		return append([]byte{privRaw}, priv...)
	}
	gcm := newGCM(r.kek)
	out := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+len(priv)+gcm.Overhead())
	out[0] = privSealed
	rand.Read(out[1:])
	return gcm.Seal(out, out[1:], priv, sealAAD(k))
}

// open decodes k.Private. A sealed part needs the KEK it was sealed with;
// anything else is ErrKeyUnsealable.
func (r *Ring) open(k storage.Key) ([]byte, error) {
	if len(k.Private) == 0 {
		return nil, fmt.Errorf("%w: key %s has no private part", ErrKeyUnsealable, k.ID)
	}
	switch k.Private[0] {
	case privRaw:
		return k.Private[1:], nil
	case privSealed:
		if r.kek == nil {
			return nil, fmt.Errorf("%w: key %s is sealed and no KEK is configured", ErrKeyUnsealable, k.ID)
		}
		gcm := newGCM(r.kek)
		body := k.Private[1:]
		if len(body) < gcm.NonceSize()+gcm.Overhead() {
			return nil, fmt.Errorf("%w: key %s is truncated", ErrKeyUnsealable, k.ID)
		}
		priv, err := gcm.Open(nil, body[:gcm.NonceSize()], body[gcm.NonceSize():], sealAAD(k))
		if err != nil {
			return nil, fmt.Errorf("%w: key %s: wrong KEK or corrupt record", ErrKeyUnsealable, k.ID)
		}
		return priv, nil
	default:
		return nil, fmt.Errorf("%w: key %s has an unknown format", ErrKeyUnsealable, k.ID)
	}
}
