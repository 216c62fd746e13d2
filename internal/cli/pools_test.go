package cli_test

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/stack"
)

// TestPoolSettings: a command registers the pool size of its role; a
// given size is parsed, an unregistered role keeps its default (0), and a
// bad size is refused with the flag, the variable and an example.
func TestPoolSettings(t *testing.T) {
	var p cli.PoolFlags
	fs := pflag.NewFlagSet("api", pflag.ContinueOnError)
	p.Register(fs, stack.RoleAPI)
	if fs.Lookup("db-pool-projector") != nil || fs.Lookup("db-pool-api") == nil {
		t.Fatal("the api command must take db-pool-api only")
	}
	if err := fs.Parse([]string{"--db-pool-api", "12"}); err != nil {
		t.Fatal(err)
	}
	sizes, err := p.Sizes()
	if err != nil || sizes != (stack.PoolSizes{API: 12}) {
		t.Fatalf("sizes = %+v, %v", sizes, err)
	}
	for _, bad := range []string{"0", "-1", "lots", "1001"} {
		if err := fs.Set("db-pool-api", bad); err != nil {
			t.Fatal(err)
		}
		_, err := p.Sizes()
		if err == nil || !strings.Contains(err.Error(), "--db-pool-api (AMTSWEG_DB_POOL_API)") || !strings.Contains(err.Error(), "from 1 to 1000") {
			t.Errorf("size %q: %v", bad, err)
		}
	}
}
