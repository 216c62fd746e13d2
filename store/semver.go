package store

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// semverKey encodes a semantic version (https://semver.org, without a "v"
// prefix) as bytes whose lexicographic order is the version's precedence:
// major, minor and patch as big-endian integers, then 0xFF for a release
// (which outranks every pre-release of the same version) or 0x00 followed
// by the pre-release identifiers, numeric ones (0x01 + big-endian integer)
// below alphanumeric ones (0x02 + text + 0x00). Build metadata does not
// take part in precedence.
func semverKey(version string) ([]byte, error) {
	v, err := semver.StrictNewVersion(version)
	if err != nil {
		return nil, fmt.Errorf("version %q is not a semantic version (MAJOR.MINOR.PATCH, e.g. \"1.2.0\"): %w", version, err)
	}
	key := make([]byte, 0, 32)
	key = binary.BigEndian.AppendUint64(key, v.Major())
	key = binary.BigEndian.AppendUint64(key, v.Minor())
	key = binary.BigEndian.AppendUint64(key, v.Patch())
	if v.Prerelease() == "" {
		return append(key, 0xFF), nil
	}
	key = append(key, 0x00)
	for _, id := range strings.Split(v.Prerelease(), ".") {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			key = append(key, 0x01)
			key = binary.BigEndian.AppendUint64(key, n)
			continue
		}
		key = append(key, 0x02)
		key = append(key, id...)
		key = append(key, 0x00)
	}
	return key, nil
}
