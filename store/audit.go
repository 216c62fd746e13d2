package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/jackc/pgx/v5"
)

// The audit trail is procedure_events: one chain per application. Entry n
// (position n, counted from 1 in the order entries were appended) records
//
//	payload_sha256 = SHA-256(JCS(payload))
//	hash           = SHA-256(JCS(["amtsweg-audit-v1", reference, position, seq,
//	                                tenant, kind, time, hex(payload_sha256), hex(prev_hash)]))
//
// where JCS is the JSON Canonicalization Scheme (RFC 8785), time is the
// entry's time in UTC as RFC 3339 with up to microseconds (PostgreSQL's
// precision), and prev_hash is the hash of entry n-1 (empty string for the
// first entry). The payload enters through its own hash so that erasing
// personal data from a payload can keep the chain verifiable: the recorded
// payload_sha256 stays, and only the payload check of that entry is given up.
const auditEntryVersion = "amtsweg-audit-v1"

// auditAnchorVersion tags the encoding of an anchor's hash.
const auditAnchorVersion = "amtsweg-audit-anchor-v1"

// auditAnchorLockID serialises anchor writers (pg_advisory_xact_lock).
const auditAnchorLockID int64 = 0x616e63686f72 // "anchor"

// canonicalJSON renders v (a Go value or raw JSON) in RFC 8785 form.
func canonicalJSON(raw []byte) ([]byte, error) {
	v := jsontext.Value(slices.Clone(raw))
	if err := v.Canonicalize(); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	return v, nil
}

// payloadSHA256 is the SHA-256 of the canonical form of a JSON payload.
func payloadSHA256(payload []byte) ([]byte, error) {
	c, err := canonicalJSON(payload)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(c)
	return sum[:], nil
}

// auditFields are the fields of an entry that its hash covers.
type auditFields struct {
	Reference     string
	Position      int64
	Seq           int64
	Tenant        string
	Kind          string
	Time          time.Time
	PayloadSHA256 []byte
	PrevHash      []byte
}

// auditTime is the form of an entry time that is hashed and stored.
func auditTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (f auditFields) hash() []byte {
	raw, _ := json.Marshal([]any{ // strings and integers always marshal
		auditEntryVersion, f.Reference, f.Position, f.Seq, f.Tenant, f.Kind,
		auditTime(f.Time).Format(time.RFC3339Nano), hex.EncodeToString(f.PayloadSHA256), hex.EncodeToString(f.PrevHash),
	})
	c, _ := canonicalJSON(raw) // valid JSON from Marshal
	sum := sha256.Sum256(c)
	return sum[:]
}

// auditHead is the last entry of a chain.
type auditHead struct {
	position int64
	hash     []byte
}

// Columns of amtsweg_incoming that chainRows fills in (indexes into a row).
const (
	colReference = 0
	colSeq       = 1
	colTenant    = 2
	colKind      = 3
	colTime      = 4
	colPayload   = 7
)

// chainBatch locks the audit chains of the batch's applications (in
// reference order, so that concurrent batches cannot deadlock), drops the
// events already recorded and gives every new event its position, payload
// hash, previous hash and hash. rows must be sorted by reference and seq
// (incomingRows sorts them) and end in the four chain columns followed by
// round.
func chainBatch(ctx context.Context, tx pgx.Tx, rows [][]any) ([][]any, error) {
	var refs []string
	var seqs []int64
	for _, r := range rows {
		ref := r[colReference].(string)
		if len(refs) == 0 || refs[len(refs)-1] != ref {
			refs = append(refs, ref)
		}
	}
	for _, r := range rows {
		seqs = append(seqs, r[colSeq].(int64))
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO audit_heads (reference) SELECT r FROM unnest($1::text[]) r ORDER BY r ON CONFLICT (reference) DO NOTHING`,
		refs); err != nil {
		return nil, fmt.Errorf("audit chain: create heads: %w", err)
	}
	heads := make(map[string]auditHead, len(refs))
	hr, err := tx.Query(ctx,
		`SELECT reference, position, hash FROM audit_heads WHERE reference = ANY($1) ORDER BY reference FOR UPDATE`, refs)
	if err != nil {
		return nil, fmt.Errorf("audit chain: lock heads: %w", err)
	}
	for hr.Next() {
		var ref string
		var h auditHead
		if err := hr.Scan(&ref, &h.position, &h.hash); err != nil {
			hr.Close()
			return nil, fmt.Errorf("audit chain: lock heads: %w", err)
		}
		heads[ref] = h
	}
	if err := hr.Err(); err != nil {
		return nil, fmt.Errorf("audit chain: lock heads: %w", err)
	}
	type key struct {
		ref string
		seq int64
	}
	seen := map[key]bool{}
	sr, err := tx.Query(ctx, `SELECT reference, seq FROM procedure_events
WHERE (reference, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`, columnOf[string](rows, colReference), seqs)
	if err != nil {
		return nil, fmt.Errorf("audit chain: recorded events: %w", err)
	}
	for sr.Next() {
		var k key
		if err := sr.Scan(&k.ref, &k.seq); err != nil {
			sr.Close()
			return nil, fmt.Errorf("audit chain: recorded events: %w", err)
		}
		seen[k] = true
	}
	if err := sr.Err(); err != nil {
		return nil, fmt.Errorf("audit chain: recorded events: %w", err)
	}

	// Events of an erased application are never recorded again (a rebuild
	// from the topic must not bring its personal data back).
	erased := map[string]bool{}
	er, err := tx.Query(ctx, `SELECT reference FROM erasures WHERE reference = ANY($1)`, refs)
	if err != nil {
		return nil, fmt.Errorf("audit chain: erasures: %w", err)
	}
	erasedRefs, err := pgx.CollectRows(er, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit chain: erasures: %w", err)
	}
	for _, r := range erasedRefs {
		erased[r] = true
	}

	fresh := rows[:0]
	for _, r := range rows {
		ref, seq := r[colReference].(string), r[colSeq].(int64)
		if seen[key{ref, seq}] || erased[ref] {
			continue
		}
		ph, err := payloadSHA256(r[colPayload].([]byte))
		if err != nil {
			return nil, fmt.Errorf("audit chain: %s/%d: %w", ref, seq, err)
		}
		h := heads[ref]
		f := auditFields{Reference: ref, Position: h.position + 1, Seq: seq, Tenant: r[colTenant].(string),
			Kind: r[colKind].(string), Time: r[colTime].(time.Time), PayloadSHA256: ph, PrevHash: h.hash}
		hash := f.hash()
		n := len(r)
		r[n-5], r[n-4], r[n-3], r[n-2] = f.Position, ph, h.hash, hash
		heads[ref] = auditHead{position: f.Position, hash: hash}
		fresh = append(fresh, r)
	}
	return fresh, nil
}

func columnOf[T any](rows [][]any, col int) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r[col].(T)
	}
	return out
}

// sqlAuditHeads moves each chain's head to the last entry the batch added.
const sqlAuditHeads = `
UPDATE audit_heads h SET position = x.position, hash = x.hash
FROM (SELECT DISTINCT ON (reference) reference, position, hash FROM amtsweg_fresh ORDER BY reference, position DESC) x
WHERE h.reference = x.reference`

// AuditBreak is the first place where an application's audit chain does
// not verify.
type AuditBreak struct {
	// Position is the chain position where the chain breaks: of the entry
	// that fails, or the first position that is missing.
	Position int64 `json:"position"`
	// Seq is the event sequence number of the failing entry (0 if the
	// entry is missing).
	Seq int64 `json:"seq,omitempty"`
	// Problem says what differs.
	Problem string `json:"problem"`
}

// AuditReport is the result of verifying one application's chain.
type AuditReport struct {
	Reference string `json:"reference"`
	// Entries is how many entries the chain has.
	Entries int64 `json:"entries"`
	// Head is the hex hash of the last entry.
	Head string `json:"head,omitempty"`
	// Anchored is the highest position an anchor recorded (0: none).
	Anchored int64 `json:"anchored"`
	// Break is nil when the chain verifies.
	Break *AuditBreak `json:"break,omitempty"`
}

// OK reports whether the chain verified.
func (r AuditReport) OK() bool { return r.Break == nil }

func short(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	s := hex.EncodeToString(b)
	return s[:16] + "…"
}

// VerifyAuditChain recomputes the audit chain of one application from the
// stored entries and reports the first broken link: a missing position
// (a deleted entry), a payload that no longer hashes to what was recorded
// (a changed payload), a previous-hash link that does not match (entries
// reordered or replaced), an entry hash that does not match its fields (a
// changed header: seq, tenant, kind, time, position), a chain shorter or
// different than its recorded head (entries deleted at the end), and an
// entry that differs from what an anchor recorded (the chain was rewritten
// consistently after the anchor). It returns ErrNotFound when nothing at
// all is recorded for the reference.
func (s *Store) VerifyAuditChain(ctx context.Context, ref string) (AuditReport, error) {
	rep := AuditReport{Reference: ref}
	rows, err := s.pool.Query(ctx, `
SELECT position, seq, tenant, kind, time, payload::text, payload_sha256, prev_hash, hash, erased_at IS NOT NULL
FROM procedure_events WHERE reference = $1 ORDER BY position NULLS FIRST, seq`, ref)
	if err != nil {
		return rep, fmt.Errorf("verify audit chain %s: %w", ref, err)
	}
	type entry struct {
		hash []byte
		seq  int64
	}
	chain := map[int64]entry{}
	var prev []byte
	brk := func(pos, seq int64, format string, args ...any) {
		if rep.Break == nil {
			rep.Break = &AuditBreak{Position: pos, Seq: seq, Problem: fmt.Sprintf(format, args...)}
		}
	}
	for rows.Next() {
		var (
			pos                        *int64
			f                          auditFields
			payload                    string
			payloadSum, prevHash, hash []byte
			erased                     bool
		)
		if err := rows.Scan(&pos, &f.Seq, &f.Tenant, &f.Kind, &f.Time, &payload, &payloadSum, &prevHash, &hash, &erased); err != nil {
			rows.Close()
			return rep, fmt.Errorf("verify audit chain %s: %w", ref, err)
		}
		want := rep.Entries + 1
		rep.Entries++
		if rep.Break != nil {
			continue
		}
		switch {
		case pos == nil:
			brk(0, f.Seq, "entry seq %d has no chain position: it was recorded before the audit chain existed or inserted outside Amtsweg", f.Seq)
			continue
		case *pos > want:
			brk(want, 0, "entry at position %d is missing (deleted); the next entry is at position %d (seq %d)", want, *pos, f.Seq)
			continue
		case *pos < want:
			brk(*pos, f.Seq, "position %d occurs twice", *pos)
			continue
		}
		f.Reference, f.Position, f.PayloadSHA256, f.PrevHash = ref, *pos, payloadSum, prevHash
		sum, err := payloadSHA256([]byte(payload))
		if erased { // the payload was anonymised on erasure; its recorded hash stands in for it
			sum, err = payloadSum, nil
		}
		switch {
		case err != nil:
			brk(*pos, f.Seq, "payload is not valid JSON: %v", err)
		case !bytes.Equal(sum, payloadSum):
			brk(*pos, f.Seq, "payload differs from what was recorded: recorded payload SHA-256 %s, the stored payload hashes to %s",
				short(payloadSum), short(sum))
		case !bytes.Equal(prevHash, prev):
			brk(*pos, f.Seq, "link to the previous entry differs: the entry records previous hash %s, the entry at position %d has hash %s (entries reordered, replaced or removed)",
				short(prevHash), *pos-1, short(prev))
		case !bytes.Equal(f.hash(), hash):
			brk(*pos, f.Seq, "entry hash differs: recorded %s, the entry's fields (seq, tenant, kind, time, position) hash to %s",
				short(hash), short(f.hash()))
		}
		prev = hash
		chain[*pos] = entry{hash: hash, seq: f.Seq}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify audit chain %s: %w", ref, err)
	}
	if rep.Entries > 0 {
		rep.Head = hex.EncodeToString(prev)
	}

	var head auditHead
	err = s.pool.QueryRow(ctx, `SELECT position, hash FROM audit_heads WHERE reference = $1`, ref).Scan(&head.position, &head.hash)
	headMissing := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !headMissing {
		return rep, fmt.Errorf("verify audit chain %s: head: %w", ref, err)
	}

	ar, err := s.pool.Query(ctx, `SELECT anchor_id, position, hash FROM audit_anchor_heads WHERE reference = $1 ORDER BY anchor_id`, ref)
	if err != nil {
		return rep, fmt.Errorf("verify audit chain %s: anchors: %w", ref, err)
	}
	type anchored struct {
		id, pos int64
		hash    []byte
	}
	var anchors []anchored
	for ar.Next() {
		var a anchored
		if err := ar.Scan(&a.id, &a.pos, &a.hash); err != nil {
			ar.Close()
			return rep, fmt.Errorf("verify audit chain %s: anchors: %w", ref, err)
		}
		anchors = append(anchors, a)
		rep.Anchored = max(rep.Anchored, a.pos)
	}
	if err := ar.Err(); err != nil {
		return rep, fmt.Errorf("verify audit chain %s: anchors: %w", ref, err)
	}
	if rep.Entries == 0 && headMissing && len(anchors) == 0 {
		return rep, fmt.Errorf("verify audit chain %s: %w: no audit entries for this reference", ref, ErrNotFound)
	}
	if rep.Break != nil {
		return rep, nil
	}
	last := rep.Entries
	switch {
	case headMissing:
		brk(last, 0, "the chain has %d entries but no recorded head (the audit_heads row was deleted)", last)
	case head.position > last:
		brk(last+1, 0, "entries at positions %d to %d are missing: the recorded head is at position %d, the chain ends at %d (entries deleted at the end)",
			last+1, head.position, head.position, last)
	case head.position < last:
		brk(head.position+1, chain[head.position+1].seq, "entries after position %d were not appended through Amtsweg: the recorded head is at position %d, the chain ends at %d",
			head.position, head.position, last)
	case !bytes.Equal(head.hash, prev):
		brk(last, chain[last].seq, "the last entry's hash %s differs from the recorded head %s", short(prev), short(head.hash))
	}
	for _, a := range anchors {
		e, ok := chain[a.pos]
		switch {
		case !ok:
			brk(a.pos, 0, "anchor %d recorded position %d, which the chain no longer has (entries deleted)", a.id, a.pos)
		case !bytes.Equal(e.hash, a.hash):
			brk(a.pos, e.seq, "anchor %d recorded hash %s at position %d, the chain has %s (the chain was rewritten after the anchor)",
				a.id, short(a.hash), a.pos, short(e.hash))
		}
	}
	return rep, nil
}

// AuditReferences lists every reference that has audit entries, a chain
// head or an anchored head, in order.
func (s *Store) AuditReferences(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
SELECT reference FROM audit_heads
UNION SELECT DISTINCT reference FROM procedure_events
UNION SELECT DISTINCT reference FROM audit_anchor_heads
ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("audit references: %w", err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit references: %w", err)
	}
	return refs, nil
}

// AuditAnchor is a hash over every chain head at one point in time.
type AuditAnchor struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	// Chains is how many chains the anchor covers; Changed how many of
	// their heads moved since the anchor before.
	Chains  int64 `json:"chains"`
	Changed int64 `json:"changed"`
	// Root is the hex SHA-256 over the heads, Hash the anchor's own hash
	// (which covers the previous anchor's hash). Publish Hash outside the
	// database (a ticket, a signed mail, a print) to make rewriting the
	// trail and its anchors together detectable.
	Root string `json:"root"`
	Hash string `json:"hash"`
}

type anchorHead struct {
	ref  string
	pos  int64
	hash []byte
}

// anchorRoot is SHA-256 over one line JCS([reference, position,
// hex(hash)]) "\n" per chain, in byte order of the references.
func anchorRoot(heads []anchorHead) []byte {
	slices.SortFunc(heads, func(a, b anchorHead) int { return strings.Compare(a.ref, b.ref) })
	h := sha256.New()
	for _, x := range heads {
		raw, _ := json.Marshal([]any{x.ref, x.pos, hex.EncodeToString(x.hash)})
		c, _ := canonicalJSON(raw)
		h.Write(c)
		h.Write([]byte("\n"))
	}
	return h.Sum(nil)
}

func anchorHash(id int64, at time.Time, chains int64, root, prev []byte) []byte {
	raw, _ := json.Marshal([]any{auditAnchorVersion, id, auditTime(at).Format(time.RFC3339Nano), chains,
		hex.EncodeToString(root), hex.EncodeToString(prev)})
	c, _ := canonicalJSON(raw)
	sum := sha256.Sum256(c)
	return sum[:]
}

// AnchorAudit writes an anchor over every chain head as it is now: the
// heads that moved since the previous anchor are recorded with it, and its
// hash links to the previous anchor's. Anchor writers take turns on an
// advisory lock.
func (s *Store) AnchorAudit(ctx context.Context) (AuditAnchor, error) {
	var a AuditAnchor
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return a, fmt.Errorf("anchor audit: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, auditAnchorLockID); err != nil {
		return a, fmt.Errorf("anchor audit: lock: %w", err)
	}
	var prevID int64
	var prevHash []byte
	err = tx.QueryRow(ctx, `SELECT id, hash FROM audit_anchors ORDER BY id DESC LIMIT 1`).Scan(&prevID, &prevHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("anchor audit: previous anchor: %w", err)
	}
	anchoredPos := map[string]int64{}
	pr, err := tx.Query(ctx, `SELECT DISTINCT ON (reference) reference, position FROM audit_anchor_heads ORDER BY reference, anchor_id DESC`)
	if err != nil {
		return a, fmt.Errorf("anchor audit: anchored heads: %w", err)
	}
	for pr.Next() {
		var ref string
		var pos int64
		if err := pr.Scan(&ref, &pos); err != nil {
			pr.Close()
			return a, fmt.Errorf("anchor audit: anchored heads: %w", err)
		}
		anchoredPos[ref] = pos
	}
	if err := pr.Err(); err != nil {
		return a, fmt.Errorf("anchor audit: anchored heads: %w", err)
	}
	hr, err := tx.Query(ctx, `SELECT reference, position, hash FROM audit_heads WHERE position > 0`)
	if err != nil {
		return a, fmt.Errorf("anchor audit: heads: %w", err)
	}
	var heads, changed []anchorHead
	for hr.Next() {
		var h anchorHead
		if err := hr.Scan(&h.ref, &h.pos, &h.hash); err != nil {
			hr.Close()
			return a, fmt.Errorf("anchor audit: heads: %w", err)
		}
		heads = append(heads, h)
		if p, ok := anchoredPos[h.ref]; !ok || p != h.pos {
			changed = append(changed, h)
		}
	}
	if err := hr.Err(); err != nil {
		return a, fmt.Errorf("anchor audit: heads: %w", err)
	}
	root := anchorRoot(heads)
	a = AuditAnchor{ID: prevID + 1, CreatedAt: auditTime(time.Now()), Chains: int64(len(heads)), Changed: int64(len(changed)),
		Root: hex.EncodeToString(root)}
	hash := anchorHash(a.ID, a.CreatedAt, a.Chains, root, prevHash)
	a.Hash = hex.EncodeToString(hash)
	if _, err := tx.Exec(ctx, `INSERT INTO audit_anchors (id, created_at, chains, root, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ID, a.CreatedAt, a.Chains, root, prevHash, hash); err != nil {
		return a, fmt.Errorf("anchor audit: insert anchor: %w", err)
	}
	rows := make([][]any, len(changed))
	for i, h := range changed {
		rows[i] = []any{h.ref, a.ID, h.pos, h.hash}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_anchor_heads"}, []string{"reference", "anchor_id", "position", "hash"},
		pgx.CopyFromRows(rows)); err != nil {
		return a, fmt.Errorf("anchor audit: record heads: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return a, fmt.Errorf("anchor audit: commit: %w", err)
	}
	return a, nil
}

// VerifyAuditAnchors checks the chain of anchors: each anchor's hash over
// its fields and the previous anchor's hash, and each root recomputed from
// the heads recorded up to it. (Whether each anchored head is still in its
// chain is checked per application by VerifyAuditChain.) It returns the
// number of anchors and, if one fails, what differs.
func (s *Store) VerifyAuditAnchors(ctx context.Context) (n int64, problem string, err error) {
	rows, err := s.pool.Query(ctx, `SELECT id, created_at, chains, root, prev_hash, hash FROM audit_anchors ORDER BY id`)
	if err != nil {
		return 0, "", fmt.Errorf("verify audit anchors: %w", err)
	}
	type anchor struct {
		id, chains           int64
		at                   time.Time
		root, prevHash, hash []byte
	}
	anchors, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (anchor, error) {
		var a anchor
		err := r.Scan(&a.id, &a.at, &a.chains, &a.root, &a.prevHash, &a.hash)
		return a, err
	})
	if err != nil {
		return 0, "", fmt.Errorf("verify audit anchors: %w", err)
	}
	state := map[string]anchorHead{}
	var prev []byte
	for i, a := range anchors {
		n++
		if a.id != int64(i+1) {
			return n, fmt.Sprintf("anchor %d is missing (the next anchor is %d)", i+1, a.id), nil
		}
		if !bytes.Equal(a.prevHash, prev) {
			return n, fmt.Sprintf("anchor %d links to previous hash %s, anchor %d has %s", a.id, short(a.prevHash), a.id-1, short(prev)), nil
		}
		hr, err := s.pool.Query(ctx, `SELECT reference, position, hash FROM audit_anchor_heads WHERE anchor_id = $1`, a.id)
		if err != nil {
			return n, "", fmt.Errorf("verify audit anchors: heads of %d: %w", a.id, err)
		}
		for hr.Next() {
			var h anchorHead
			if err := hr.Scan(&h.ref, &h.pos, &h.hash); err != nil {
				hr.Close()
				return n, "", fmt.Errorf("verify audit anchors: heads of %d: %w", a.id, err)
			}
			state[h.ref] = h
		}
		if err := hr.Err(); err != nil {
			return n, "", fmt.Errorf("verify audit anchors: heads of %d: %w", a.id, err)
		}
		heads := make([]anchorHead, 0, len(state))
		for _, h := range state {
			heads = append(heads, h)
		}
		root := anchorRoot(heads)
		switch {
		case int64(len(heads)) != a.chains:
			return n, fmt.Sprintf("anchor %d covers %d chains but %d anchored heads are recorded up to it", a.id, a.chains, len(heads)), nil
		case !bytes.Equal(root, a.root):
			return n, fmt.Sprintf("anchor %d root %s differs from the root of its recorded heads %s (an anchored head was changed)", a.id, short(a.root), short(root)), nil
		case !bytes.Equal(anchorHash(a.id, a.at, a.chains, a.root, a.prevHash), a.hash):
			return n, fmt.Sprintf("anchor %d hash %s does not match its fields", a.id, short(a.hash)), nil
		}
		prev = a.hash
	}
	return n, "", nil
}

// AuditEntry is one entry of an application's audit chain as stored.
type AuditEntry struct {
	Position      int64           `json:"position"`
	Seq           int64           `json:"seq"`
	Tenant        string          `json:"tenant"`
	Kind          string          `json:"kind"`
	Time          time.Time       `json:"time"`
	Payload       json.RawMessage `json:"payload"`
	PayloadSHA256 string          `json:"payloadSha256"`
	PrevHash      string          `json:"prevHash,omitempty"`
	Hash          string          `json:"hash"`
	AppliedAt     time.Time       `json:"appliedAt"`
}

// AuditEntries returns the audit chain of one application in chain order
// (hashes in hex), for exports; entries without a position (recorded
// before the chain existed) come first.
func (s *Store) AuditEntries(ctx context.Context, ref string) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `
SELECT COALESCE(position, 0), seq, tenant, kind, time, payload, encode(payload_sha256, 'hex'), encode(prev_hash, 'hex'),
       encode(hash, 'hex'), applied_at
FROM procedure_events WHERE reference = $1 ORDER BY position NULLS FIRST, seq`, ref)
	if err != nil {
		return nil, fmt.Errorf("audit entries %s: %w", ref, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var ph, prev, hash *string
		err := r.Scan(&e.Position, &e.Seq, &e.Tenant, &e.Kind, &e.Time, &e.Payload, &ph, &prev, &hash, &e.AppliedAt)
		e.PayloadSHA256, e.PrevHash, e.Hash = deref(ph), deref(prev), deref(hash)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit entries %s: %w", ref, err)
	}
	return out, nil
}
