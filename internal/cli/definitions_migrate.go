package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/instancemigration"
	"github.com/amtsweg/amtsweg/internal/stack"
)

func newDefinitionsMigrateCmd() *cobra.Command {
	var sf serviceFlags
	var planFile, format, actor string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "migrate --plan FILE [--dry-run]",
		Short: "Move running instances to another version of their definition",
		Long: `migrate runs a migration plan (see docs/definitions.md, "Migrating running
instances") over the running instances of the plan's source version.

With --dry-run it changes nothing and lists every instance it would move
(now, or at its next top-level step when it is inside a participation or an
activity) and every one it cannot, with why.

Without it, it moves the instances in batches of the plan's batchSize. Each
instance moves at a safe point, keeps its open tasks (same ids) and the
dates of its running legal periods, and records the move in its audit trail.
Progress is recorded in PostgreSQL: running the same plan again continues a
run that stopped, skipping the instances already moved and asking the
others again (instances that were scheduled, blocked or failed).`,
		Example: `  amtsweg definitions migrate --plan bauantrag-1.0-to-1.1.yaml --dry-run
  amtsweg definitions migrate --plan bauantrag-1.0-to-1.1.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if planFile == "" {
				return fmt.Errorf("name the plan: --plan FILE")
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format must be text or json")
			}
			src, err := os.ReadFile(planFile)
			if err != nil {
				return fmt.Errorf("read plan: %w", err)
			}
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			s := stack.New(cfg)
			defer s.Close()
			ctx := cmd.Context()
			st, err := s.Store(ctx)
			if err != nil {
				return err
			}
			tc, err := s.Temporal(ctx)
			if err != nil {
				return err
			}
			plan, err := instancemigration.Load(ctx, st, planFile, src)
			if err != nil {
				return err
			}
			if actor == "" {
				actor = "amtsweg definitions migrate"
				if u, err := user.Current(); err == nil {
					actor += " (" + u.Username + ")"
				}
			}
			r := &instancemigration.Runner{Store: st, Temporal: tc, Log: cfg.Logger, Actor: actor}
			out := cmd.OutOrStdout()
			if dryRun {
				rep, err := r.DryRun(ctx, plan, "")
				if err != nil {
					return err
				}
				return printDryRun(out, rep, format == "json")
			}
			prog, err := r.Run(ctx, plan)
			if perr := printProgress(out, prog, format == "json"); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&planFile, "plan", "", "the migration plan (YAML)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what the plan would do, change nothing")
	cmd.Flags().StringVar(&format, "format", "text", "output: text or json")
	cmd.Flags().StringVar(&actor, "actor", "", "who runs the migration, for the audit trail (default: this command and the user)")
	return cmd
}

func printDryRun(w io.Writer, rep instancemigration.DryRunReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "plan %s: %s -> %s\n", rep.Plan, rep.Source, rep.Target)
	fmt.Fprintf(w, "would move %d instance(s):\n", len(rep.Move))
	for _, it := range rep.Move {
		switch it.Verdict {
		case instancemigration.WouldMove:
			fmt.Fprintf(w, "  %s  at %s -> %s\n", it.Reference, it.At, it.To)
		default:
			fmt.Fprintf(w, "  %s  %s\n", it.Reference, it.Reason)
		}
	}
	fmt.Fprintf(w, "cannot move %d instance(s):\n", len(rep.Cannot))
	for _, it := range rep.Cannot {
		fmt.Fprintf(w, "  %s  at %s: %s\n", it.Reference, it.At, it.Reason)
	}
	return nil
}

func printProgress(w io.Writer, p instancemigration.Progress, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	fmt.Fprintf(w, "plan %s (resumed: %v): moved %d, scheduled %d, blocked %d, failed %d\n", p.Plan, p.Resumed,
		p.Counts["moved"], p.Counts["scheduled"], p.Counts["blocked"], p.Counts["failed"])
	for _, it := range p.Items {
		if it.Status != "moved" {
			fmt.Fprintf(w, "  %s  %s at %s: %s\n", it.Reference, it.Status, it.At, it.Reason)
		}
	}
	return nil
}
