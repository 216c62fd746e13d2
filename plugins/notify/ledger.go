package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Ledger records sent messages by idempotency key, one file per key, so a
// retried call sends nothing twice, across plugin restarts.
type Ledger struct {
	dir   string
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// Entry is what the ledger keeps of a sent message.
type Entry struct {
	Key        string    `json:"idempotencyKey"`
	MessageID  string    `json:"messageId"`
	Template   string    `json:"template"`
	Language   string    `json:"language"`
	Recipients []string  `json:"recipients"`
	Subject    string    `json:"subject"`
	SentAt     time.Time `json:"sentAt"`
	Transport  string    `json:"transport"`
}

// NewLedger opens (creating it) the ledger in dir.
func NewLedger(dir string) (*Ledger, error) {
	if dir == "" {
		return nil, errors.New("ledger directory is not set: set AMTSWEG_NOTIFY_LEDGER or AMTSWEG_DATA_DIR")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create ledger: %w", err)
	}
	return &Ledger{dir: dir, locks: map[string]*sync.Mutex{}}, nil
}

func (l *Ledger) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(l.dir, hex.EncodeToString(sum[:])+".json")
}

// lock serialises work on one key: inside this process with a mutex, and
// across the processes that share the ledger directory (the worker
// replicas on one volume, see deploy/kubernetes) with an advisory flock on
// <dir>/.locks/<key hash>. Without the flock, two attempts of one call on
// two workers (the first still running when the call timed out and was
// retried elsewhere) could both miss the ledger and both send. The lock
// files stay: removing one while another process waits on it would let
// two hold "the" lock. It gives up when ctx ends.
func (l *Ledger) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	m, ok := l.locks[key]
	if !ok {
		m = &sync.Mutex{}
		l.locks[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	dir := filepath.Join(l.dir, ".locks")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		m.Unlock()
		return nil, fmt.Errorf("lock ledger entry: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, filepath.Base(l.path(key))+".lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		m.Unlock()
		return nil, fmt.Errorf("lock ledger entry: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			m.Unlock()
			return nil, fmt.Errorf("lock ledger entry: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			m.Unlock()
			return nil, fmt.Errorf("lock ledger entry: another process holds it: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return func() {
		f.Close() // closing the descriptor releases the flock
		m.Unlock()
	}, nil
}

// Lookup returns the entry for key, if a message was sent for it.
func (l *Ledger) Lookup(key string) (Entry, bool, error) {
	b, err := os.ReadFile(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("read ledger: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, false, fmt.Errorf("ledger entry %s is damaged: %w", l.path(key), err)
	}
	return e, true, nil
}

// Record stores e durably.
func (l *Ledger) Record(e Entry) error {
	b, _ := json.MarshalIndent(e, "", "  ")
	p := l.path(e.Key)
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("record sent message: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("record sent message: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("record sent message: %w", err)
	}
	f.Close()
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("record sent message: %w", err)
	}
	return nil
}
