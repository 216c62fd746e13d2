package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// debianBinGlob is where Debian and Ubuntu install the server binaries of
// each major version; they are not on PATH there.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// errNoBinaries tells what to install.
var errNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found on PATH or in " + debianBinGlob +
	"; install them (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to an existing PostgreSQL server")

// binaries are the server programs of one PostgreSQL installation.
type binaries struct {
	initdb   string
	postgres string
	major    int
}

// findBinaries returns the installation to use: wantMajor's when it is
// given (an existing data dir of that version) and installed, otherwise
// the one whose initdb is on PATH, otherwise the highest version under
// /usr/lib/postgresql.
func findBinaries(ctx context.Context, wantMajor int) (binaries, error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return dirVersion(dirs[i]) > dirVersion(dirs[j]) })
	candidates = append(candidates, dirs...)

	var found []binaries
	for _, dir := range candidates {
		b := binaries{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
		if !isExecutable(b.initdb) || !isExecutable(b.postgres) {
			continue
		}
		major, err := serverMajor(ctx, b.postgres)
		if err != nil {
			return binaries{}, err
		}
		b.major = major
		if wantMajor == 0 || major == wantMajor {
			return b, nil
		}
		found = append(found, b)
	}
	if len(found) > 0 {
		return binaries{}, fmt.Errorf("the data dir was created by PostgreSQL %d but only PostgreSQL %d is installed; "+
			"install PostgreSQL %d (Debian: apt-get install postgresql-%d), or upgrade the data dir with pg_upgrade, or remove it to start afresh",
			wantMajor, found[0].major, wantMajor, wantMajor)
	}
	return binaries{}, errNoBinaries
}

func dirVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// serverMajor runs `postgres --version`, e.g. "postgres (PostgreSQL) 15.20 (Debian ...)".
func serverMajor(ctx context.Context, postgresBin string) (int, error) {
	out, err := exec.CommandContext(ctx, postgresBin, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("%s --version: %w", postgresBin, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s --version: unexpected output %q", postgresBin, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(string(m[1]))
	return major, nil
}
