package events

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// CanonicalAccessCode is the form of an access code that is hashed: without
// spaces and hyphens, in upper case, so that "abcd-efgh-jkmn" as typed by
// the citizen matches "ABCD-EFGH-JKMN" as printed by the portal.
func CanonicalAccessCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, code)
}

// HashAccessCode is the lowercase hex SHA-256 of the canonical form of an
// access code: the value of ApplicationSubmitted.AccessCodeSHA256.
func HashAccessCode(code string) string {
	sum := sha256.Sum256([]byte(CanonicalAccessCode(code)))
	return hex.EncodeToString(sum[:])
}
