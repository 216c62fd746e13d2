package datakeys_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/datakeys"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestParseMasterKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, s := range []string{base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key) + "\n"} {
		if got, err := datakeys.ParseMasterKey(s); err != nil || string(got) != string(key) {
			t.Errorf("ParseMasterKey(%q) = %q, %v", s, got, err)
		}
	}
	for s, want := range map[string]string{
		"":            "set AMTSWEG_MASTER_KEY",
		"not base64!": "not base64",
		"c2hvcnQ=":    "must be 32 bytes",
		"    \t":      "set AMTSWEG_MASTER_KEY",
	} {
		if _, err := datakeys.ParseMasterKey(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMasterKey(%q) = %v, want %q", s, err, want)
		}
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	dir := t.TempDir()
	a, err := datakeys.LoadOrCreateFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, datakeys.MasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	b, err := datakeys.LoadOrCreateFile(dir)
	if err != nil || a != b {
		t.Errorf("second start: %q, %v; want the same key %q", b, err, a)
	}
	if _, err := datakeys.ParseMasterKey(a); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(dir, datakeys.MasterKeyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := datakeys.LoadOrCreateFile(dir); err == nil {
		t.Error("a broken key file was accepted")
	}
}

// TestKeysPerApplication makes, reads and destroys data keys in
// PostgreSQL: one key per application, stable, unusable under another
// master key, gone for good after erasure.
func TestKeysPerApplication(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	keys, err := datakeys.New(st, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "BA-2025-0601", "BA-2025-0602"
	if _, err := st.ApplyEvents(ctx, storetest.Lifecycle(a)); err != nil {
		t.Fatal(err)
	}
	ka, err := keys.ForPublish(ctx, a, "bauamt-erfurt")
	if err != nil {
		t.Fatal(err)
	}
	e := storetest.Lifecycle(a)[0]
	msg, err := events.EncodeSealedProcedureEvent(e, ka)
	if err != nil {
		t.Fatal(err)
	}
	_, sealed, err := events.DecodeProcedureEventMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	// The same key again, for the publisher and the reader.
	if again, err := keys.ForPublish(ctx, a, "bauamt-erfurt"); err != nil {
		t.Fatal(err)
	} else if _, err := events.OpenProcedureEvent(sealed, again); err != nil {
		t.Errorf("the key changed between publishes: %v", err)
	}
	read, err := keys.ForReading(ctx, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := read[b]; ok || read[a].Destroyed {
		t.Fatalf("keys for reading: %+v", read)
	}
	if _, err := events.OpenProcedureEvent(sealed, read[a].AEAD); err != nil {
		t.Errorf("reader's key: %v", err)
	}
	// Another master key cannot unwrap it.
	other, err := datakeys.New(st, []byte("fedcba9876543210fedcba9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ForReading(ctx, []string{a}); err == nil || !strings.Contains(err.Error(), "does not open with this master key") {
		t.Errorf("another master key: %v", err)
	}

	if err := st.EraseApplication(ctx, "bauamt-erfurt", a, "Bauakte", "test"); err != nil {
		t.Fatal(err)
	}
	read, err = keys.ForReading(ctx, []string{a})
	if err != nil || !read[a].Destroyed || read[a].AEAD != nil {
		t.Errorf("after erasure: %+v, %v", read, err)
	}
	if _, err := keys.ForPublish(ctx, a, "bauamt-erfurt"); !errors.Is(err, store.ErrKeyDestroyed) {
		t.Errorf("a new key for an erased application: %v", err)
	}
}
