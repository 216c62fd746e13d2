package workflows

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/singleflight"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
)

// definitionByHashChange is the workflow.GetVersion change id under which
// a run resolves its definition from the worker's cache by content hash
// instead of loading it through a local activity whose result (the whole
// definition) is recorded in every history. Runs recorded before the
// change replay the local activity (its marker holds the body).
//
// Replay-safe: the hash is in the recorded input (Input.Definition.Hash)
// and a deployed definition is immutable per hash (definitions.Hash over
// the canonical model), so every worker resolves the same body on every
// replay. After a restart the cache is empty and the first workflow task
// of each definition loads it from PostgreSQL again.
const definitionByHashChange = "definition-by-hash"

// definitionLoadTimeout bounds a cache miss. The load runs inside the
// workflow task, whose coroutine must yield within the deadlock detection
// timeout (one second by default); a slower load fails the task, which
// Temporal retries.
const definitionLoadTimeout = 800 * time.Millisecond

// maxCachedDefinitions bounds the cache: a deployment has tens of
// definition versions, each a few kilobytes to a few hundred.
const maxCachedDefinitions = 512

// DefinitionsByHash reads deployed definitions by content hash;
// activities.DefinitionSource (PostgreSQL through package registry)
// implements it.
type DefinitionsByHash interface {
	DefinitionByHash(ctx context.Context, hash string) (*definitions.Procedure, error)
}

// definitionCache holds definition bodies by content hash for every
// worker of the process. It is process-wide on purpose: the key is a
// content hash, and only a body whose definitions.Hash is its key is
// cached, so a cached body is the body of that hash everywhere. Entries are shared by concurrent runs and must be
// treated as read-only (the interpreter never writes to its definition).
type definitionCache struct {
	mu      sync.Mutex
	bodies  map[string]*definitions.Procedure
	sources []DefinitionsByHash
	loads   singleflight.Group
}

var defCache = &definitionCache{bodies: map[string]*definitions.Procedure{}}

// AddDefinitionSource makes src a place where workers of this process look
// up a definition by hash that is not cached yet. procworker.Register adds
// the worker's source; a replayer of histories recorded after
// definitionByHashChange needs one too. Adding the same source twice is a
// no-op; the newest source is asked first. Sources are kept for the
// life of the process (a test process that starts many workers keeps a
// handful).
func AddDefinitionSource(src DefinitionsByHash) {
	if src == nil {
		return
	}
	defCache.mu.Lock()
	defer defCache.mu.Unlock()
	comparable := reflect.TypeOf(src).Comparable()
	if comparable && slices.ContainsFunc(defCache.sources, func(s DefinitionsByHash) bool {
		return reflect.TypeOf(s) == reflect.TypeOf(src) && s == src
	}) {
		return
	}
	defCache.sources = append([]DefinitionsByHash{src}, defCache.sources...)
}

// cachedDefinition returns the cached body of hash, or loads it from the
// sources (one load per hash at a time, however many runs ask).
func (c *definitionCache) get(ctx context.Context, hash string) (*definitions.Procedure, error) {
	c.mu.Lock()
	p, ok := c.bodies[hash]
	sources := c.sources
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	if len(sources) == 0 {
		return nil, errors.New("this worker has no definition source (register the workflow with procworker.Register, or call workflows.AddDefinitionSource)")
	}
	v, err, _ := c.loads.Do(hash, func() (any, error) {
		var errs []error
		for _, src := range sources {
			p, err := src.DefinitionByHash(ctx, hash)
			if err == nil {
				// Only a body that is the content of its key is kept:
				// then it is the same for every source and every worker.
				// (Test sources with made-up keys are asked each time.)
				if definitions.Hash(p) == hash {
					c.put(hash, p)
				}
				return p, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	})
	if err != nil {
		return nil, err
	}
	return v.(*definitions.Procedure), nil
}

func (c *definitionCache) put(hash string, p *definitions.Procedure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) >= maxCachedDefinitions {
		for h := range c.bodies { // drop any one: a miss only costs a load
			delete(c.bodies, h)
			break
		}
	}
	c.bodies[hash] = p
}

// loadDefinition returns the run's pinned definition: from the worker's
// cache by hash (runs since definitionByHashChange, unless the input asks
// for the recorded load), or through the local activity whose result is
// recorded in history (earlier runs, replayed from their marker).
func (r *run) loadDefinition(ctx workflow.Context) (*definitions.Procedure, error) {
	in := r.in
	if workflow.GetVersion(ctx, definitionByHashChange, workflow.DefaultVersion, 1) == 1 && !in.DefinitionInHistory {
		return definitionByHash(in.Definition), nil
	}
	lao := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	var def definitions.Procedure
	if err := workflow.ExecuteLocalActivity(lao, activities.LoadDefinitionName, in.Definition).Get(ctx, &def); err != nil {
		return nil, fmt.Errorf("load definition %s %s: %w", in.Definition.Key, in.Definition.Version, err)
	}
	return &def, nil
}

// definitionByHash resolves ref from the cache. It records nothing: the
// body is a pure function of the recorded hash. A definition that cannot
// be had panics, which fails the workflow task without recording
// anything; Temporal retries the task (with backoff), so a database that
// is back, or a definition deployed again, lets the run go on, and
// procworker.StuckWatcher raises an incident for a run whose tasks keep
// failing. Failing the workflow instead would end a procedure for a
// passing outage.
func definitionByHash(ref definitions.Ref) *definitions.Procedure {
	if ref.Hash == "" {
		panic(fmt.Sprintf("definition %s %s: the start input has no content hash; start procedures with the hash the deployment returned (amtsweg definitions list shows it)", ref.Key, ref.Version))
	}
	ctx, cancel := context.WithTimeout(context.Background(), definitionLoadTimeout)
	defer cancel()
	p, err := defCache.get(ctx, ref.Hash)
	if errors.Is(err, activities.ErrDefinitionNotFound) {
		panic(fmt.Sprintf("definition %s %s (hash %s) is not deployed in this worker's database: deploy it (amtsweg definitions deploy) or point the worker at the database it was deployed to; the workflow task is retried", ref.Key, ref.Version, ref.Hash))
	}
	if err != nil {
		panic(fmt.Sprintf("load definition %s %s (hash %s): %v; the workflow task is retried", ref.Key, ref.Version, ref.Hash, err))
	}
	return p
}
