package auth

import (
	"context"
	"slices"
)

// Principal is an authenticated clerk or designer.
type Principal struct {
	// Subject is the provider's stable user id (claim "sub").
	Subject string `json:"sub"`
	// Name is the display name (claim "name"); may be empty.
	Name string `json:"name,omitempty"`
	// Tenant is the authority (Behörde) the user works for; every query and
	// task is scoped to it. Never empty for a verified principal.
	Tenant string `json:"tenant"`
	// Roles are the user's roles, e.g. "sachbearbeitung", "designer".
	Roles []string `json:"roles,omitempty"`
}

// HasRole reports whether p has role r (exact, case-sensitive match).
func (p Principal) HasRole(r string) bool { return slices.Contains(p.Roles, r) }

type principalKey struct{}

// NewContext returns a copy of ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal Middleware put into ctx, and false when
// the request was not authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
