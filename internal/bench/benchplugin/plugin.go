package benchplugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// Name is the plugin's name, the prefix of its activities' full names.
const Name = "benchsvc"

// Full names of the plugin's activities, as definitions and workflows call
// them.
const (
	ActivityRegister = Name + ".register"
	ActivityCheck    = Name + ".check"
	ActivityArchive  = Name + ".archive"
)

// Activities lists the three activities in the order a procedure calls them.
var Activities = []string{ActivityRegister, ActivityCheck, ActivityArchive}

// RegisterInput is the input of benchsvc.register.
type RegisterInput struct {
	Subject string `json:"subject" jsonschema:"description=What the application is about,minLength=1"`
	Amount  int    `json:"amount,omitempty" jsonschema:"description=An amount the check looks at,minimum=0"`
}

// RegisterOutput is the output of benchsvc.register.
type RegisterOutput struct {
	FileID string `json:"fileId"`
}

// CheckInput is the input of benchsvc.check.
type CheckInput struct {
	FileID string `json:"fileId" jsonschema:"minLength=1"`
	Amount int    `json:"amount,omitempty" jsonschema:"minimum=0"`
}

// CheckOutput is the output of benchsvc.check.
type CheckOutput struct {
	OK    bool `json:"ok"`
	Score int  `json:"score"`
}

// ArchiveInput is the input of benchsvc.archive.
type ArchiveInput struct {
	FileID string `json:"fileId" jsonschema:"minLength=1"`
	Score  int    `json:"score,omitempty"`
}

// ArchiveOutput is the output of benchsvc.archive.
type ArchiveOutput struct {
	Digest string `json:"digest"`
}

// Plugin returns the benchmark plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    Name,
		Version: "1.0.0",
		Activities: []sdk.Activity{
			sdk.Typed("register", "Registers the application and returns its file id", register),
			sdk.Typed("check", "Checks the application and scores it", check),
			sdk.Typed("archive", "Archives the application and returns the digest of the archived record", archive),
		},
	}
}

func digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

func register(_ context.Context, call sdk.CallInfo, in RegisterInput) (RegisterOutput, error) {
	if strings.TrimSpace(in.Subject) == "" {
		return RegisterOutput{}, sdk.Finalf("subject is blank; send what the application is about")
	}
	// The idempotency key makes a retried call return the same file id.
	return RegisterOutput{FileID: "F-" + digest(call.IdempotencyKey, call.Reference, in.Subject)[:16]}, nil
}

func check(_ context.Context, _ sdk.CallInfo, in CheckInput) (CheckOutput, error) {
	d := digest(in.FileID, fmt.Sprint(in.Amount))
	score := int(d[0]) % 100
	return CheckOutput{OK: in.Amount < 1_000_000, Score: score}, nil
}

func archive(_ context.Context, call sdk.CallInfo, in ArchiveInput) (ArchiveOutput, error) {
	return ArchiveOutput{Digest: digest(call.Reference, in.FileID, fmt.Sprint(in.Score))}, nil
}

// Serve serves the plugin as a plugin process; it does not return.
func Serve() { sdk.Serve(Plugin()) }

// Install writes an executable named Name into dir that starts command
// (an absolute executable path and its arguments) in place of itself, so
// that the plugin host, which runs every executable of its plugin
// directory, starts the benchmark binary in its plugin mode. It returns the
// path written.
func Install(dir string, command ...string) (string, error) {
	if len(command) == 0 || !filepath.IsAbs(command[0]) {
		return "", fmt.Errorf("install %s plugin: the command must start with an absolute executable path, got %q", Name, command)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("install %s plugin: %w", Name, err)
	}
	quoted := make([]string, len(command))
	for i, c := range command {
		quoted[i] = "'" + strings.ReplaceAll(c, "'", `'\''`) + "'"
	}
	script := "#!/bin/sh\n# Amtsweg benchmark plugin: serves " + Name + " from the benchmark binary.\nexec " + strings.Join(quoted, " ") + "\n"
	path := filepath.Join(dir, Name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("install %s plugin: %w", Name, err)
	}
	return path, nil
}
