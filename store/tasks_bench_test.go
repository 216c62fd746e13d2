package store_test

import (
	"context"
	"testing"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// BenchmarkWorklist reads pages of a clerk's default worklist (two roles
// plus the tasks assigned to her, open and claimed, by due date) from a
// tasks table of one million rows across 20 authorities and 8 roles:
//
//	go test ./store -run '^$' -bench Worklist -benchtime 200x
//
// "first" is the first page, "deep" a page far down the list reached with
// a cursor; both should cost about the same (keyset paging).
func BenchmarkWorklist(b *testing.B) {
	s, _ := storetest.New(b)
	ctx := context.Background()
	_, err := store.PoolOf(s).Exec(ctx, `
		INSERT INTO tasks (id, reference, tenant, procedure, version, step, title, role, assignee, status,
		                   created_at, due, overdue, form, last_seq)
		SELECT 'T' || i, 'R' || (i / 3), 'tenant-' || (i % 20), 'bauantrag', '1.0.0', 'pruefen',
		       '{"de":"Antrag prüfen","en":"Review"}', 'role-' || (i / 20 % 8),
		       CASE WHEN i % 5 = 0 THEN 'user-' || (i / 160 % 50) END,
		       CASE WHEN i % 5 = 0 THEN 'claimed' WHEN i % 7 = 0 THEN 'completed' ELSE 'open' END,
		       now(), date '2025-01-01' + (i::bigint * 7919 % 730)::int, i % 11 = 0, '{"type":"object"}', 1
		FROM generate_series(1, 1000000) i;
		ANALYZE tasks`)
	if err != nil {
		b.Fatal(err)
	}
	q := store.TaskQuery{Tenant: "tenant-3", Roles: []string{"role-1", "role-4"}, OrAssignee: "user-7", Limit: 50}
	deep := q
	for range 40 {
		p, err := s.Tasks(ctx, deep)
		if err != nil || p.NextCursor == "" {
			b.Fatalf("paging: %v", err)
		}
		deep.After = p.NextCursor
	}
	for name, q := range map[string]store.TaskQuery{"first": q, "deep": deep} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.Tasks(ctx, q)
				if err != nil || len(p.Tasks) != 50 {
					b.Fatalf("%d tasks, %v", len(p.Tasks), err)
				}
			}
		})
	}
}
