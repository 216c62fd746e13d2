package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/workers/intake"
)

// newSubmitCmd is `amtsweg submit`: play the portal and submit an
// application to the intake topic.
func newSubmitCmd() *cobra.Command {
	var (
		brokers, format string
		asJSON          bool
		timeout         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "submit FILE.json [--kafka-brokers HOST:PORT,...] [--format json]",
		Short: "Submit an application to the intake topic, as a portal would",
		Long: `Submit an application to amtsweg.intake.v1 as the portal does (see
docs/intake.md). FILE is JSON:

  {"procedure": "bauantrag", "tenant": "lra-gotha",
   "applicant": {"name": "Erika Mustermann"},
   "payload": {...the application data...},
   "reference": "optional; generated when absent"}

A random access code is drawn; only its SHA-256 is sent. Prints the
reference and the access code the citizen needs for the status page.`,
		Example: `  amtsweg submit examples/bauantrag.json
  amtsweg submit --format json application.json | jq -r .accessCode`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				format = "json"
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read application: %w", err)
			}
			var s intake.Submission
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("%s: not an application in JSON (procedure, tenant, applicant, payload): %w", args[0], err)
			}
			bs := kafkabus.SplitBrokers(brokers)
			if len(bs) == 0 {
				return fmt.Errorf("--kafka-brokers is empty: give the Kafka brokers as host:port[,host:port] or set KAFKA_BROKERS")
			}
			w := kafkabus.NewWriter(bs, "")
			defer w.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			receipt, err := intake.Submit(ctx, w, s, time.Now())
			if errors.Is(err, intake.ErrInvalidSubmission) {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err != nil {
				return fmt.Errorf("%s: %w (is Kafka reachable at %s?)", args[0], err, brokers)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return json.NewEncoder(out).Encode(receipt)
			}
			fmt.Fprintf(out, "reference:   %s\naccess code: %s\n", receipt.Reference, receipt.AccessCode)
			return nil
		},
	}
	f := cmd.Flags()
	RegisterSetting(f, &brokers, "kafka-brokers")
	// --brokers was this command's name for it before it took the name
	// the processes use; it keeps working.
	RegisterRetired(f, &brokers, "kafka-brokers", "brokers")
	f.StringVar(&format, "format", "text", `output format: text, or json for {"reference": ..., "accessCode": ...} only`)
	f.BoolVar(&asJSON, "json", false, "same as --format json")
	_ = f.MarkDeprecated("json", "use --format json")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "give up publishing after this long")
	return cmd
}
