package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// LoadSpec is one load step for the load generator process: the requests
// to send (cycled), at Rate per second or, with Rate 0, by Workers clients
// as fast as they are answered, for Duration.
type LoadSpec struct {
	Name     string        `json:"name"`
	Rate     int           `json:"rate"`
	Workers  int           `json:"workers"`
	Duration time.Duration `json:"duration"`
	Targets  []LoadTarget  `json:"targets"`
}

// LoadTarget is one request of a load step.
type LoadTarget struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Header http.Header `json:"header,omitempty"`
}

// LoadOutcome is what the load generator measured: the latency of every
// successful request, the answers by status code and the first errors.
type LoadOutcome struct {
	First     time.Time       `json:"first"`
	Last      time.Time       `json:"last"`
	OK        int             `json:"ok"`
	Latencies []time.Duration `json:"latencies"`
	Codes     map[string]int  `json:"codes"`
	ErrorN    int             `json:"errorN"`
	Errors    []string        `json:"errors,omitempty"`
}

// ServeLoad is the load generator process (`amtsweg bench load`): it reads
// a LoadSpec as JSON from in, runs it with vegeta and writes the
// LoadOutcome as JSON to out.
func ServeLoad(ctx context.Context, in io.Reader, out io.Writer) error {
	var spec LoadSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("load generator: read the load spec (JSON on stdin, as the suite writes it): %w", err)
	}
	if len(spec.Targets) == 0 || spec.Duration <= 0 || (spec.Rate <= 0 && spec.Workers <= 0) {
		return fmt.Errorf("load generator: the spec needs targets, a duration and a rate or workers: %d targets, %s, rate %d, workers %d",
			len(spec.Targets), spec.Duration, spec.Rate, spec.Workers)
	}
	targets := make([]vegeta.Target, len(spec.Targets))
	for i, t := range spec.Targets {
		targets[i] = vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header}
	}
	o := runVegeta(ctx, spec.Name, spec.Rate, spec.Workers, spec.Duration, vegeta.NewStaticTargeter(targets...))
	return json.NewEncoder(out).Encode(o)
}

// runVegeta runs one load step and collects its outcome.
func runVegeta(ctx context.Context, name string, rate, workers int, d time.Duration, tr vegeta.Targeter) LoadOutcome {
	// At a fixed rate vegeta adds clients while answers lag behind, up to
	// maxClients: a server that cannot keep the rate shows as a lower
	// throughput, not as an unbounded pile of connections.
	const maxClients = 512
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(30 * time.Second),
		vegeta.Connections(maxClients), vegeta.MaxConnections(maxClients), vegeta.MaxWorkers(maxClients)}
	pacer := vegeta.Pacer(vegeta.ConstantPacer{Freq: rate, Per: time.Second})
	if rate <= 0 {
		pacer = vegeta.ConstantPacer{}
		opts = append(opts, vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)))
	}
	atk := vegeta.NewAttacker(opts...)
	o := LoadOutcome{Codes: map[string]int{}}
	var errs errorLog
	done := ctx.Done()
	for res := range atk.Attack(tr, pacer, d, name) {
		if o.First.IsZero() || res.Timestamp.Before(o.First) {
			o.First = res.Timestamp
		}
		if end := res.End(); end.After(o.Last) {
			o.Last = end
		}
		o.Codes[fmt.Sprint(res.Code)]++
		switch {
		case res.Code == http.StatusOK && res.Error == "":
			o.OK++
			o.Latencies = append(o.Latencies, res.Latency)
		case res.Error != "":
			errs.add(fmt.Errorf("%s", res.Error))
		default:
			errs.add(fmt.Errorf("HTTP %d: %.200s", res.Code, res.Body))
		}
		select {
		case <-done:
			atk.Stop()
			done = nil
		default:
		}
	}
	o.ErrorN, o.Errors = errs.n, errs.list()
	return o
}

// loadTargets draws the requests of a step from tr: enough for rate
// requests/s over d (with a margin), or a pool of poolSize to cycle at
// saturation.
func loadTargets(tr vegeta.Targeter, rate int, d time.Duration, poolSize int) ([]LoadTarget, error) {
	n := poolSize
	if rate > 0 {
		n = int(float64(rate)*d.Seconds()*1.1) + 1
	}
	out := make([]LoadTarget, n)
	for i := range out {
		var t vegeta.Target
		if err := tr(&t); err != nil {
			return nil, err
		}
		out[i] = LoadTarget{Method: t.Method, URL: t.URL, Header: t.Header}
	}
	return out, nil
}

// runLoadProcess runs a step in the load generator process started by
// command, and returns its outcome and the process's CPU seconds.
func runLoadProcess(ctx context.Context, command []string, spec LoadSpec) (LoadOutcome, float64, error) {
	var o LoadOutcome
	in, err := json.Marshal(spec)
	if err != nil {
		return o, 0, err
	}
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return o, 0, fmt.Errorf("load generator %v: %w: %.500s", command, err, stderr.String())
	}
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if err := json.Unmarshal(stdout.Bytes(), &o); err != nil {
		return o, cpu, fmt.Errorf("load generator %v: its outcome: %w", command, err)
	}
	return o, cpu, nil
}
