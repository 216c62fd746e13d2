package records_test

import (
	"os"
	"path/filepath"
)

// overwrite changes a stored document's content behind the e-file store's
// back.
func overwrite(dir, ref, id string) error {
	return os.WriteFile(filepath.Join(dir, ref, id, "content"), []byte("Abgelehnt."), 0o644)
}
