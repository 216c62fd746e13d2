package postgres

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// account is the OS user the server runs as when we are root: PostgreSQL
// refuses to run as root.
type account struct {
	name     string
	uid, gid uint32
}

// serverAccount returns the account to run initdb and postgres as: nil
// (ourselves) unless we are root, then the "postgres" user.
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root; there is no user %q to run it as (%v): "+
			"create it (installing PostgreSQL does: apt-get install postgresql) or run as a normal user", "postgres", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres has a non-numeric uid/gid %s/%s", u.Uid, u.Gid)
	}
	return &account{name: u.Username, uid: uint32(uid), gid: uint32(gid)}, nil
}

func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid, NoSetGroups: false}
}

// chownTree gives dir and everything below it to the account.
func (a *account) chownTree(dir string) error {
	if a == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(a.uid), int(a.gid))
	})
}

// owns reports whether path belongs to the account.
func (a *account) owns(path string) bool {
	if a == nil {
		return true
	}
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Uid == a.uid
}

// checkReachable fails, saying what to do, when the account cannot
// traverse a parent directory of dir (e.g. a data dir under /root).
func (a *account) checkReachable(dir string) error {
	if a == nil {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := a.checkSearchable(dir, p); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (a *account) checkSearchable(dataDir, p string) error {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // created later, by us, searchable
	} else if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := st.Mode().Perm()
	var searchable bool
	switch {
	case sys.Uid == a.uid:
		searchable = mode&0o100 != 0
	case sys.Gid == a.gid:
		searchable = mode&0o010 != 0
	default:
		searchable = mode&0o001 != 0
	}
	if !searchable {
		return fmt.Errorf("PostgreSQL runs as user %s, which cannot reach the data dir %s: %s is not searchable for it (mode %v); "+
			"choose a data dir under a path it can reach (e.g. /var/lib/amtsweg) or allow it with chmod o+x %s",
			a.name, dataDir, p, mode, p)
	}
	return nil
}
