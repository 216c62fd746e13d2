package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestSubmitBrokerFlags checks that submit takes --kafka-brokers like the
// processes do, and still accepts its old --brokers with a notice.
func TestSubmitBrokerFlags(t *testing.T) {
	for _, flag := range []string{"--kafka-brokers", "--brokers"} {
		cmd := newSubmitCmd()
		var errOut bytes.Buffer
		cmd.Flags().SetOutput(&errOut)
		if err := cmd.ParseFlags([]string{flag, "kafka-1:9092,kafka-2:9092"}); err != nil {
			t.Fatalf("%s: %v", flag, err)
		}
		got, err := cmd.Flags().GetString("kafka-brokers")
		if err != nil || got != "kafka-1:9092,kafka-2:9092" {
			t.Errorf("%s: kafka-brokers = %q, %v", flag, got, err)
		}
		if deprecated := strings.Contains(errOut.String(), "use --kafka-brokers"); deprecated != (flag == "--brokers") {
			t.Errorf("%s: deprecation notice %q", flag, errOut.String())
		}
	}
}
