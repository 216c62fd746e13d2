package dirlock

import (
	"strings"
	"testing"
)

func TestLockIsExclusive(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "x.lock")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir, "x.lock"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second lock: got %v, want 'in use'", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	l2, err := Acquire(dir, "x.lock")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}
