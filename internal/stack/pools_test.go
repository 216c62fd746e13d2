package stack

import (
	"context"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// TestEachRoleHasItsOwnPool: StoreFor opens one pool per role, sized by
// Config.Pools (else the role's default), reused on the next call, apart
// from the shared Store; an unknown role is refused.
func TestEachRoleHasItsOwnPool(t *testing.T) {
	ctx := context.Background()
	_, url := storetest.New(t)
	s := New(Config{DatabaseURL: url, Pools: PoolSizes{API: 3}})
	t.Cleanup(s.Close)

	shared, err := s.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Role]int{RoleAPI: 3, RoleProjector: DefaultProjectorPool, RoleIntake: DefaultIntakePool, RoleWorker: DefaultWorkerPool}
	seen := map[*store.Store]Role{shared: ""}
	for role, size := range want {
		st, err := s.StoreFor(ctx, role)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if other, ok := seen[st]; ok {
			t.Errorf("role %s shares the pool of %q", role, other)
		}
		seen[st] = role
		if again, _ := s.StoreFor(ctx, role); again != st {
			t.Errorf("role %s: a second call opened another pool", role)
		}
		if got := st.MaxConns(); got != size {
			t.Errorf("role %s: pool of %d connections, want %d", role, got, size)
		}
	}
	if _, err := s.StoreFor(ctx, "reporting"); err == nil || !strings.Contains(err.Error(), "no such role") {
		t.Errorf("unknown role: %v", err)
	}
}
