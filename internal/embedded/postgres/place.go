package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

const (
	// DefaultClusterBase is where a cluster lives when this process is
	// root and the postgres user cannot reach the requested data dir
	// (e.g. a checkout under /root, mode 0700).
	DefaultClusterBase = "/var/lib/amtsweg/postgres"
	// LocationFile, in the requested data dir, names the directory the
	// cluster was placed in instead, so that later starts find it.
	LocationFile = "CLUSTER_LOCATION"
	// ownerFile, beside a placed cluster's data directory, names the data
	// dir it was placed for.
	ownerFile = "OWNER"
)

// placeCluster returns the directory to run the cluster in for the
// requested data dir: the requested one itself, unless we are root and the
// postgres user cannot traverse one of its parents. Then the cluster lives
// under base in a directory owned by postgres (mode 0700), recorded in
// requested/LocationFile. Nothing on the requested path is opened up.
func placeCluster(requested, base string, acct *account, log *slog.Logger) (string, error) {
	if acct == nil {
		return requested, nil
	}
	if raw, err := os.ReadFile(filepath.Join(requested, LocationFile)); err == nil {
		dir := strings.TrimSpace(string(raw))
		if !filepath.IsAbs(dir) {
			return "", fmt.Errorf("%s holds %q, not an absolute path: remove the file to place the cluster anew", filepath.Join(requested, LocationFile), dir)
		}
		return dir, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(requested, "PG_VERSION")); err == nil {
		return requested, nil // a cluster in place; prepare checks it is reachable
	}
	if acct.checkReachable(requested) == nil {
		return requested, nil
	}

	if base == "" {
		base = DefaultClusterBase
	}
	sum := sha256.Sum256([]byte(requested))
	slot := filepath.Join(base, strings.TrimLeft(filepath.Base(filepath.Dir(requested)), ".")+"-"+hex.EncodeToString(sum[:6]))
	dir := filepath.Join(slot, "data")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("the postgres user cannot reach %s, and the cluster cannot be placed under %s instead: %w", requested, base, err)
	}
	if err := acct.checkReachable(slot); err != nil {
		return "", fmt.Errorf("the postgres user can reach neither %s nor %s: %w", requested, base, err)
	}
	// A slot without a LocationFile pointing at it belongs to a data dir
	// that was deleted since: start afresh, as a new data dir would.
	if owner, err := os.ReadFile(filepath.Join(slot, ownerFile)); err == nil && strings.TrimSpace(string(owner)) == requested {
		log.Warn("removing the PostgreSQL cluster of a data dir that was deleted", "cluster", dir, "data_dir", requested)
		if err := os.RemoveAll(slot); err != nil {
			return "", fmt.Errorf("remove stale cluster %s: %w", slot, err)
		}
	}
	if err := os.MkdirAll(slot, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(slot, ownerFile), []byte(requested+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(requested, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(requested, LocationFile), []byte(dir+"\n"), 0o644); err != nil {
		return "", err
	}
	log.Info("the postgres user cannot reach the data dir, so the cluster lives where it can",
		"cluster", dir, "data_dir", requested, "recorded_in", filepath.Join(requested, LocationFile))
	return dir, nil
}
