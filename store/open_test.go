package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// TestOpenSizesAndNamesThePool: MaxConns bounds the pool, ApplicationName
// names its connections unless the URL does.
func TestOpenSizesAndNamesThePool(t *testing.T) {
	ctx := context.Background()
	_, url := storetest.New(t)
	s, err := store.Open(ctx, url, store.MaxConns(3), store.ApplicationName("amtsweg-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.MaxConns() != 3 {
		t.Errorf("MaxConns = %d, want 3", s.MaxConns())
	}
	var name string
	if err := store.PoolOf(s).QueryRow(ctx, `SELECT current_setting('application_name')`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "amtsweg-test" {
		t.Errorf("application_name = %q, want amtsweg-test", name)
	}

	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	named, err := store.Open(ctx, url+sep+"application_name=from-url", store.ApplicationName("amtsweg-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	if err := store.PoolOf(named).QueryRow(ctx, `SELECT current_setting('application_name')`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "from-url" {
		t.Errorf("application_name = %q: the URL's name must win", name)
	}
}
