package datakeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/amtsweg/amtsweg/store"
)

// EnvMasterKey is the environment variable of the master key: 32 random
// bytes in base64 (e.g. from `openssl rand -base64 32`).
const EnvMasterKey = "AMTSWEG_MASTER_KEY"

// MasterKeyFile is the file in amtsweg dev's data directory that holds a
// generated master key when AMTSWEG_MASTER_KEY is not set.
const MasterKeyFile = "master.key"

// wrapVersion prefixes a wrapped key: the format (nonce, then the key
// sealed with AES-256-GCM under the master key).
const wrapVersion = 1

// Store keeps the wrapped keys (*store.Store).
type Store interface {
	DataKey(ctx context.Context, reference, tenant string, wrapped []byte) ([]byte, error)
	DataKeys(ctx context.Context, references []string) (map[string][]byte, error)
}

// Keyring gives the data keys of applications as AES-256-GCM AEADs.
type Keyring struct {
	store  Store
	master cipher.AEAD
}

// ParseMasterKey decodes a master key given in base64 (standard or URL
// alphabet, padded or not); it must be 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("no master key: set %s to 32 random bytes in base64 (e.g. `openssl rand -base64 32`); "+
			"the worker and the projector need the same one", EnvMasterKey)
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w (generate one with `openssl rand -base64 32`)", EnvMasterKey, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s must be 32 bytes (AES-256), it decodes to %d; generate one with `openssl rand -base64 32`", EnvMasterKey, len(key))
	}
	return key, nil
}

// LoadOrCreateFile returns the master key kept in dir/MasterKeyFile in
// base64, creating the file (mode 0600) with a new random key if it does
// not exist. For amtsweg dev only: production takes the key from
// AMTSWEG_MASTER_KEY and never writes it.
func LoadOrCreateFile(dir string) (string, error) {
	p := filepath.Join(dir, MasterKeyFile)
	b, err := os.ReadFile(p)
	if err == nil {
		if _, err := ParseMasterKey(string(b)); err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read master key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate master key: %w", err)
	}
	s := base64.StdEncoding.EncodeToString(key)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write master key: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("write master key %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write master key %s: %w", p, err)
	}
	return s, nil
}

// New returns a keyring over st with the master key (32 bytes, see
// ParseMasterKey).
func New(st Store, masterKey []byte) (*Keyring, error) {
	if len(masterKey) != 32 {
		return nil, fmt.Errorf("master key of %d bytes: it must be 32 (AES-256)", len(masterKey))
	}
	m, err := gcm(masterKey)
	if err != nil {
		return nil, err
	}
	return &Keyring{store: st, master: m}, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("AES key: %w", err)
	}
	return cipher.NewGCM(b)
}

func wrapAAD(reference string) []byte { return []byte("amtsweg.data-key.v1\x00" + reference) }

// wrap seals a data key under the master key, bound to its reference.
func (k *Keyring) wrap(reference string, key []byte) ([]byte, error) {
	nonce := make([]byte, k.master.NonceSize(), 1+k.master.NonceSize()+len(key)+k.master.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("wrap data key: %w", err)
	}
	out := append([]byte{wrapVersion}, nonce...)
	return k.master.Seal(out, nonce, key, wrapAAD(reference)), nil
}

// unwrap opens a wrapped data key and returns its AEAD.
func (k *Keyring) unwrap(reference string, wrapped []byte) (cipher.AEAD, error) {
	n := k.master.NonceSize()
	if len(wrapped) < 1+n || wrapped[0] != wrapVersion {
		return nil, fmt.Errorf("data key of %s: not a wrapped key of format %d", reference, wrapVersion)
	}
	key, err := k.master.Open(nil, wrapped[1:1+n], wrapped[1+n:], wrapAAD(reference))
	if err != nil {
		return nil, fmt.Errorf("data key of %s does not open with this master key (is %s the one the worker uses?): %w",
			reference, EnvMasterKey, err)
	}
	return gcm(key)
}

// ForPublish returns the data key of an application, making one on its
// first event. It fails (wrapping store.ErrKeyDestroyed) for an erased
// application.
func (k *Keyring) ForPublish(ctx context.Context, reference, tenant string) (cipher.AEAD, error) {
	have, err := k.store.DataKeys(ctx, []string{reference})
	if err != nil {
		return nil, err
	}
	wrapped, ok := have[reference]
	if ok && wrapped == nil {
		return nil, fmt.Errorf("publish events of %s: %w", reference, store.ErrKeyDestroyed)
	}
	if !ok {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate data key: %w", err)
		}
		w, err := k.wrap(reference, key)
		if err != nil {
			return nil, err
		}
		if wrapped, err = k.store.DataKey(ctx, reference, tenant, w); err != nil {
			return nil, err
		}
	}
	return k.unwrap(reference, wrapped)
}

// Key is an application's data key as a reader finds it.
type Key struct {
	// AEAD is nil when the key was destroyed.
	AEAD cipher.AEAD
	// Destroyed: the application was erased; its events cannot be read.
	Destroyed bool
}

// ForReading returns the data keys of the given applications; an
// application without a key is missing from the map.
func (k *Keyring) ForReading(ctx context.Context, references []string) (map[string]Key, error) {
	have, err := k.store.DataKeys(ctx, references)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Key, len(have))
	for ref, w := range have {
		if w == nil {
			out[ref] = Key{Destroyed: true}
			continue
		}
		a, err := k.unwrap(ref, w)
		if err != nil {
			return nil, err
		}
		out[ref] = Key{AEAD: a}
	}
	return out, nil
}
