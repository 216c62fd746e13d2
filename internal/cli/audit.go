package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/store"
)

// newAuditCmd is `amtsweg audit`: verify and anchor the hash-chained audit
// trail (see docs/records.md).
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and anchor the tamper-evident audit trail",
		Long: `Every applied domain event is an entry of its application's audit chain:
it carries the hash of the entry before it. "audit verify" recomputes the
chains and reports the first broken link; "audit anchor" records a hash over
every chain head, which makes rewriting whole chains detectable too.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditAnchorCmd())
	return cmd
}

func openStore(cmd *cobra.Command, url string) (*store.Store, error) {
	if url == "" {
		return nil, fmt.Errorf("no database: set DATABASE_URL or --database-url, e.g. postgres://amtsweg@127.0.0.1:5432/amtsweg")
	}
	return store.Open(cmd.Context(), url)
}

func newAuditVerifyCmd() *cobra.Command {
	var url string
	var all bool
	var format string
	cmd := &cobra.Command{
		Use:   "verify (REFERENCE... | --all)",
		Short: "Recompute audit chains and report the first broken link of each",
		Long: `Recompute the audit chain of each named application (or of every
application with --all, which also checks the chain of anchors) and print,
per chain, "ok" with its length and head, or the first broken link: its
position, the event's sequence number and what differs. Exits with status 1
if any chain or anchor fails.`,
		Example: `  amtsweg audit verify BAUANTRAG-2026-000123
  amtsweg audit verify --all --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("name the references to verify or pass --all (not both)")
			}
			s, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			refs := args
			if all {
				if refs, err = s.AuditReferences(ctx); err != nil {
					return err
				}
			}
			broken := 0
			var reports []store.AuditReport
			for _, ref := range refs {
				rep, err := s.VerifyAuditChain(ctx, ref)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("%s: nothing is recorded for this reference (check its spelling)", ref)
				}
				if err != nil {
					return err
				}
				if !rep.OK() {
					broken++
				}
				if format == "json" {
					reports = append(reports, rep)
				} else {
					printAuditReport(out, rep)
				}
			}
			var anchorProblem string
			var anchors int64
			if all {
				if anchors, anchorProblem, err = s.VerifyAuditAnchors(ctx); err != nil {
					return err
				}
			}
			if format == "json" {
				res := map[string]any{"chains": reports}
				if all {
					res["anchors"] = map[string]any{"count": anchors, "problem": anchorProblem}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if all {
				if anchorProblem == "" {
					fmt.Fprintf(out, "anchors ok: %d\n", anchors)
				} else {
					fmt.Fprintf(out, "anchors BROKEN: %s\n", anchorProblem)
				}
			}
			switch {
			case broken > 0 && anchorProblem != "":
				return fmt.Errorf("%d of %d audit chains and the anchors are broken", broken, len(refs))
			case broken > 0:
				return fmt.Errorf("%d of %d audit chains are broken", broken, len(refs))
			case anchorProblem != "":
				return fmt.Errorf("the chain of audit anchors is broken")
			}
			return nil
		},
	}
	RegisterSetting(cmd.Flags(), &url, "database-url")
	cmd.Flags().BoolVar(&all, "all", false, "verify every application's chain and the anchors")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func printAuditReport(w io.Writer, rep store.AuditReport) {
	if rep.OK() {
		fmt.Fprintf(w, "%s ok: %d entries, head %s, anchored up to position %d\n", rep.Reference, rep.Entries, rep.Head, rep.Anchored)
		return
	}
	b := rep.Break
	fmt.Fprintf(w, "%s BROKEN at position %d", rep.Reference, b.Position)
	if b.Seq > 0 {
		fmt.Fprintf(w, " (seq %d)", b.Seq)
	}
	fmt.Fprintf(w, ": %s\n", b.Problem)
}

func newAuditAnchorCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Record a hash over every audit chain head",
		Long: `Record an anchor: a hash over the head of every application's audit
chain as it is now, linked to the anchor before. Print its hash and keep it
outside the database (a ticket, a signed mail): whoever rewrites the trail
and its anchors together cannot produce the same hash. The projector
writes anchors on a schedule too (--audit-anchor-every).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := s.AnchorAudit(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "anchor %d at %s: %d chains (%d changed), root %s, hash %s\n",
				a.ID, a.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), a.Chains, a.Changed, a.Root, a.Hash)
			return nil
		},
	}
	RegisterSetting(cmd.Flags(), &url, "database-url")
	return cmd
}
