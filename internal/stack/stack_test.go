package stack

import "testing"

func TestTemporalGzip(t *testing.T) {
	for _, c := range []struct {
		setting, address string
		want             bool
	}{
		{"", "127.0.0.1:7233", false},
		{"", "localhost:7233", false},
		{"", "[::1]:7233", false},
		{"", "temporal.internal:7233", true},
		{"", "10.0.0.5:7233", true},
		{"gzip", "127.0.0.1:7233", true},
		{"none", "temporal.internal:7233", false},
	} {
		got, err := temporalGzip(c.setting, c.address)
		if err != nil || got != c.want {
			t.Errorf("temporalGzip(%q, %q) = %v, %v; want %v", c.setting, c.address, got, err, c.want)
		}
	}
	if _, err := temporalGzip("zstd", "127.0.0.1:7233"); err == nil {
		t.Error("an unknown compression was accepted")
	}
}
