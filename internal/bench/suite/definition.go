package suite

import (
	"context"
	"embed"
	"fmt"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
)

// The suite's procedure definitions. They are deployed at run time like any
// definition a process designer writes.
//
//go:embed definitions/*.yaml
var definitionFS embed.FS

// Definition keys of the suite.
const (
	// KeyBenchmark is the measured procedure: three plugin calls, one task.
	KeyBenchmark = "benchmark"
	// KeyOpen is the procedure of the open-procedures measurement: a task
	// with a due date (a durable timer) right after the start.
	KeyOpen = "benchmark-open"
)

// definitionSource returns the YAML source of the definition with key.
func definitionSource(key string) ([]byte, error) {
	src, err := definitionFS.ReadFile("definitions/" + key + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("benchmark definition %s: %w", key, err)
	}
	return src, nil
}

// deployDefinitions deploys the suite's definitions through the deployer,
// which validates them against the plugin catalog the worker published.
func deployDefinitions(ctx context.Context, st *store.Store) (map[string]definitions.Ref, error) {
	dep := &registry.Deployer{Store: st}
	refs := map[string]definitions.Ref{}
	for _, key := range []string{KeyBenchmark, KeyOpen} {
		src, err := definitionSource(key)
		if err != nil {
			return nil, err
		}
		res, err := dep.Deploy(ctx, key+".yaml", src, "amtsweg bench")
		if err != nil {
			return nil, fmt.Errorf("deploy benchmark definition %s: %w", key, err)
		}
		refs[key] = res.Ref
	}
	return refs, nil
}
