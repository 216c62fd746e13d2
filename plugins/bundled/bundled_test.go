package bundled_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/plugins/host"
)

// TestBundledPluginsAsProcesses starts every bundled plugin the way the
// worker does (a multi-call binary run as "plugin serve NAME") and calls
// them through the host.
func TestBundledPluginsAsProcesses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "amtsweg")
	build := exec.Command("go", "build", "-o", bin, "./testdata/multicall")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	h, err := host.New(host.Options{
		Bundled: bundled.Names(), Executable: bin, DataDir: data,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Env: map[string][]string{
			"notify": {"AMTSWEG_NOTIFY_TRANSPORT=file", "AMTSWEG_NOTIFY_FROM=Bauaufsicht <bauaufsicht@lra.example>"},
			"xbau":   {"AMTSWEG_XBAU_AUTHORITY_ID=LRA-1", "AMTSWEG_XBAU_AUTHORITY_NAME=Landratsamt"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.Plugins() {
		if p.State != host.StateRunning || p.Kind != host.KindBundled {
			t.Errorf("%s: %s %s", p.Name, p.State, p.Error)
		}
	}
	for _, name := range []string{"fees.compute", "efile.store", "efile.list", "efile.get", "notify.send",
		"xbau.receipt-confirmation", "xbau.missing-documents", "xbau.participation-request", "xbau.decision"} {
		if _, ok := h.Lookup(name); !ok {
			t.Errorf("activity %s is not registered", name)
		}
	}

	ctx := context.Background()
	exec := func(activity string, in any) json.RawMessage {
		t.Helper()
		b, _ := json.Marshal(in)
		out, err := h.Execute(ctx, plugins.Call{Activity: activity, Reference: "BA-2025-1", IdempotencyKey: "wf/" + activity, Attempt: 1, Input: b})
		if err != nil {
			t.Fatalf("%s: %v", activity, err)
		}
		return out
	}
	var fee struct{ Amount float64 }
	json.Unmarshal(exec("fees.compute", map[string]any{"procedureType": "regular", "buildingCosts": 300000}), &fee)
	// Nr. 1.1.2 of the embedded schedule: 300,000 EUR x 7 / 1,000.
	if fee.Amount != 2100 {
		t.Errorf("fee = %v", fee.Amount)
	}
	exec("efile.store", map[string]any{"reference": "BA-2025-1", "kind": "letter", "name": "a.txt", "mediaType": "text/plain", "text": "Hallo"})
	if _, err := os.Stat(filepath.Join(data, "efile", "BA-2025-1")); err != nil {
		t.Errorf("efile did not store under its data directory: %v", err)
	}
	exec("notify.send", map[string]any{"template": "task-assigned", "to": []any{map[string]any{"address": "sb@lra.example"}},
		"data": map[string]any{"taskTitle": "Vollständigkeit prüfen", "due": "17.11.2025"}})
	if files, _ := filepath.Glob(filepath.Join(data, "notify", "outbox", "*.eml")); len(files) != 1 {
		t.Errorf("outbox holds %d messages, want 1", len(files))
	}

	// Input validation happens in the host before the plugin is called.
	b, _ := json.Marshal(map[string]any{"procedureType": "regular"})
	_, err = h.Execute(ctx, plugins.Call{Activity: "fees.compute", Input: b})
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "buildingCosts") {
		t.Errorf("missing buildingCosts: %v", err)
	}
}

func TestPluginUnknown(t *testing.T) {
	if _, err := bundled.Plugin("nope"); err == nil || !strings.Contains(err.Error(), "fees") {
		t.Fatalf("unknown bundled plugin: %v", err)
	}
}
