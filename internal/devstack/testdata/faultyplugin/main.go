// Command faultyplugin is an Amtsweg plugin built with the SDK for the
// end-to-end fault tests (devstack/plugins_e2e_test.go). The test builds it
// with `go build` and drops it into the plugin directory of a running
// stack. Its activities misbehave on purpose, in the ways real specialist
// systems do, and leave traces in the plugin's data directory
// ($AMTSWEG_DATA_DIR) that the test reads:
//
//   - faulty.book books once per idempotency key: it records the booking in
//     a ledger (ledger/<key hash>.json) and the side effect in effects.log,
//     and a repeated call with the same key returns the recorded booking.
//     On its first attempt it then blocks (up to ten minutes, or until the
//     call is cancelled) after writing its process id to
//     inflight/<reference>.pid, so that the test can kill the process in
//     the middle of the call.
//   - faulty.check fails with a final error until the file
//     fixed/<reference> exists (the "cause" an operator fixes).
//   - faulty.hang never answers and ignores cancellation.
//
// Every call appends a line {activity, reference, key, attempt, pid} to
// calls.log.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// BookInput is the input of faulty.book.
type BookInput struct {
	Subject string `json:"subject" jsonschema:"description=What is booked,minLength=1"`
}

// BookOutput is the output of faulty.book.
type BookOutput struct {
	BookingID string `json:"bookingId"`
	Subject   string `json:"subject"`
	// Duplicate is true when the booking was made by an earlier attempt.
	Duplicate bool `json:"duplicate"`
}

// CheckInput is the input of faulty.check.
type CheckInput struct {
	Subject string `json:"subject" jsonschema:"minLength=1"`
}

// CheckOutput is the output of faulty.check.
type CheckOutput struct {
	Checked bool `json:"checked"`
}

// HangInput is the input of faulty.hang.
type HangInput struct{}

// HangOutput is the output of faulty.hang (never returned).
type HangOutput struct {
	Done bool `json:"done"`
}

// CallRecord is one line of calls.log.
type CallRecord struct {
	Activity  string `json:"activity"`
	Reference string `json:"reference"`
	Key       string `json:"key"`
	Attempt   int32  `json:"attempt"`
	PID       int    `json:"pid"`
}

// Plugin returns the faulty plugin, keeping its files in dir.
func Plugin(dir string) sdk.Plugin {
	f := &faulty{dir: dir}
	return sdk.Plugin{
		Name:    "faulty",
		Version: "0.1.0",
		Activities: []sdk.Activity{
			sdk.Typed("book", "Books once per idempotency key and hangs on the first attempt after booking", f.book),
			sdk.Typed("check", "Fails finally until the cause is fixed", f.check),
			sdk.Typed("hang", "Never answers", f.hang),
		},
	}
}

type faulty struct {
	dir string
	mu  sync.Mutex // serialises the ledger of book
}

func (f *faulty) book(ctx context.Context, call sdk.CallInfo, in BookInput) (BookOutput, error) {
	if err := f.record(call); err != nil {
		return BookOutput{}, err
	}
	out, err := f.bookOnce(call, in)
	if err != nil {
		return BookOutput{}, err
	}
	if call.Attempt == 1 {
		// The booking is made; now the "remote system" does not answer.
		// The test kills the process here.
		if err := writeFile(filepath.Join(f.dir, "inflight", fileName(call.Reference)+".pid"), []byte(strconv.Itoa(os.Getpid()))); err != nil {
			return BookOutput{}, err
		}
		call.Logger.Info("booked; blocking until killed", "booking", out.BookingID)
		select {
		case <-ctx.Done():
			return BookOutput{}, sdk.Retryable(ctx.Err())
		case <-time.After(10 * time.Minute):
		}
	}
	return out, nil
}

// bookOnce makes the booking of the call's idempotency key, or returns the
// one made before.
func (f *faulty) bookOnce(call sdk.CallInfo, in BookInput) (BookOutput, error) {
	if call.IdempotencyKey == "" {
		return BookOutput{}, sdk.Finalf("faulty.book needs an idempotency key")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256([]byte(call.IdempotencyKey))
	ledger := filepath.Join(f.dir, "ledger", hex.EncodeToString(sum[:])+".json")
	if b, err := os.ReadFile(ledger); err == nil {
		var out BookOutput
		if err := json.Unmarshal(b, &out); err != nil {
			return BookOutput{}, sdk.Finalf("ledger %s is damaged: %v", ledger, err)
		}
		out.Duplicate = true
		return out, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return BookOutput{}, sdk.Retryable(err)
	}
	out := BookOutput{BookingID: "B-" + hex.EncodeToString(sum[:6]), Subject: in.Subject}
	// The side effect first, then the ledger: a crash in between would
	// book twice, which is the one window a real plugin narrows with the
	// remote system's own idempotency key.
	line, _ := json.Marshal(map[string]string{"key": call.IdempotencyKey, "reference": call.Reference, "booking": out.BookingID})
	if err := appendLine(filepath.Join(f.dir, "effects.log"), line); err != nil {
		return BookOutput{}, sdk.Retryable(err)
	}
	b, _ := json.Marshal(out)
	if err := writeFile(ledger, b); err != nil {
		return BookOutput{}, sdk.Retryable(err)
	}
	return out, nil
}

func (f *faulty) check(_ context.Context, call sdk.CallInfo, in CheckInput) (CheckOutput, error) {
	if err := f.record(call); err != nil {
		return CheckOutput{}, err
	}
	flag := filepath.Join(f.dir, "fixed", fileName(call.Reference))
	if _, err := os.Stat(flag); err != nil {
		return CheckOutput{}, sdk.Finalf("register refuses %s for %s: no clearance; create %s to clear it", in.Subject, call.Reference, flag)
	}
	return CheckOutput{Checked: true}, nil
}

func (f *faulty) hang(_ context.Context, call sdk.CallInfo, _ HangInput) (HangOutput, error) {
	if err := f.record(call); err != nil {
		return HangOutput{}, err
	}
	call.Logger.Info("hanging")
	<-make(chan struct{}) // ignores cancellation, like a stuck remote call
	return HangOutput{}, nil
}

// record appends the call to calls.log.
func (f *faulty) record(call sdk.CallInfo) error {
	line, err := json.Marshal(CallRecord{Activity: call.Activity, Reference: call.Reference,
		Key: call.IdempotencyKey, Attempt: call.Attempt, PID: os.Getpid()})
	if err != nil {
		return sdk.Final(err)
	}
	if err := appendLine(filepath.Join(f.dir, "calls.log"), line); err != nil {
		return sdk.Retryable(err)
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// fileName makes a reference usable as a file name.
func fileName(reference string) string {
	if reference == "" {
		return "_"
	}
	return unsafeChars.ReplaceAllString(reference, "_")
}

func appendLine(path string, line []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := fh.Write(append(line, '\n')); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// writeFile writes path atomically (temporary file, then rename).
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	dir := os.Getenv("AMTSWEG_DATA_DIR")
	if dir == "" {
		fmt.Fprintln(os.Stderr, "faultyplugin: AMTSWEG_DATA_DIR is not set; run it from an Amtsweg plugin host with a data directory")
		os.Exit(1)
	}
	sdk.Serve(Plugin(dir))
}
