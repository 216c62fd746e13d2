package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SetTenantCalendar sets the holiday calendar at the seat of the authority
// tenant (e.g. "DE-TH-KATH"). The caller checks that the calendar exists.
func (s *Store) SetTenantCalendar(ctx context.Context, tenant, calendar string) error {
	if tenant == "" || calendar == "" {
		return fmt.Errorf("set tenant calendar: tenant and calendar are required")
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO tenants (id, calendar) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET calendar = EXCLUDED.calendar, updated_at = now()`, tenant, calendar)
	if err != nil {
		return fmt.Errorf("set calendar of tenant %s: %w", tenant, err)
	}
	return nil
}

// TenantCalendar returns the holiday calendar configured for tenant, or an
// error wrapping ErrNotFound when the authority has none.
func (s *Store) TenantCalendar(ctx context.Context, tenant string) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `SELECT calendar FROM tenants WHERE id = $1`, tenant).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("calendar of tenant %s: %w", tenant, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("calendar of tenant %s: %w", tenant, err)
	}
	return c, nil
}
