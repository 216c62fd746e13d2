package httpadapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/amtsweg/amtsweg/plugins"
)

// EnvConfig names the environment variable with the configuration file.
const EnvConfig = "AMTSWEG_HTTP_CONFIG"

// Config is the adapter's configuration file.
type Config struct {
	Endpoints []Endpoint `yaml:"endpoints"`
}

// Endpoint is one REST endpoint, offered as activity http.<Name>.
type Endpoint struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Method      string            `yaml:"method"`
	URL         string            `yaml:"url"`
	Query       map[string]string `yaml:"query"`
	Headers     map[string]string `yaml:"headers"`
	Timeout     string            `yaml:"timeout"`
	// Request maps body fields to JSON Pointers into the input. Empty:
	// the whole input is the body (no body for GET and DELETE).
	Request map[string]string `yaml:"request"`
	// Response maps output fields to JSON Pointers into the response.
	// Empty: the output is {"status": <code>, "body": <response>}.
	Response map[string]string `yaml:"response"`
	// RetryOn lists further statuses that are retryable.
	RetryOn      []int `yaml:"retryOn"`
	InputSchema  any   `yaml:"inputSchema"`
	OutputSchema any   `yaml:"outputSchema"`

	timeout time.Duration
}

// LoadConfig reads and checks the configuration file at path.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read http adapter configuration (%s): %w", EnvConfig, err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("http adapter configuration %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses and checks a configuration, including that every
// secret it references resolves.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	seen := map[string]bool{}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		where := fmt.Sprintf("endpoints[%d] (%s)", i, e.Name)
		if err := plugins.ValidateName("endpoint", e.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%s: endpoint name is used twice", where)
		}
		seen[e.Name] = true
		e.Method = strings.ToUpper(e.Method)
		if e.Method == "" {
			e.Method = http.MethodPost
		}
		switch e.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return nil, fmt.Errorf("%s: method %q: use GET, POST, PUT, PATCH or DELETE", where, e.Method)
		}
		e.timeout = 30 * time.Second
		if e.Timeout != "" {
			d, err := time.ParseDuration(e.Timeout)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("%s: timeout %q: use a Go duration such as 15s", where, e.Timeout)
			}
			e.timeout = d
		}
		raw, err := expandSecrets(e.URL)
		if err != nil {
			return nil, fmt.Errorf("%s: url: %w", where, err)
		}
		u, err := url.Parse(placeholder.ReplaceAllString(raw, "x"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: url %q is not an absolute http(s) URL", where, e.URL)
		}
		for k, v := range e.Headers {
			if _, err := expandSecrets(v); err != nil {
				return nil, fmt.Errorf("%s: header %s: %w", where, k, err)
			}
		}
		for k, v := range e.Query {
			if _, err := expandSecrets(v); err != nil {
				return nil, fmt.Errorf("%s: query %s: %w", where, k, err)
			}
		}
		for field, ptr := range e.Request {
			if ptr != "" && !strings.HasPrefix(ptr, "/") {
				return nil, fmt.Errorf("%s: request.%s: %q is not a JSON Pointer (it starts with /)", where, field, ptr)
			}
		}
		for field, ptr := range e.Response {
			if ptr != "" && !strings.HasPrefix(ptr, "/") {
				return nil, fmt.Errorf("%s: response.%s: %q is not a JSON Pointer (it starts with /)", where, field, ptr)
			}
		}
		for _, s := range []struct {
			name string
			v    any
		}{{"inputSchema", e.InputSchema}, {"outputSchema", e.OutputSchema}} {
			if s.v == nil {
				continue
			}
			if _, err := plugins.CompileSchema(e.Name+" "+s.name, mustJSON(s.v)); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	return &c, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // YAML-decoded values always marshal
	}
	return b
}

var (
	secretRef   = regexp.MustCompile(`\$\{([^}]*)\}`)
	placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// expandSecrets replaces ${env:NAME}, ${NAME} and ${file:/path}.
func expandSecrets(s string) (string, error) {
	var firstErr error
	out := secretRef.ReplaceAllStringFunc(s, func(m string) string {
		ref := m[2 : len(m)-1]
		switch {
		case strings.HasPrefix(ref, "file:"):
			path := strings.TrimPrefix(ref, "file:")
			b, err := os.ReadFile(path)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("secret file %s: %w", path, err)
			}
			return strings.TrimRight(string(b), "\r\n")
		default:
			name := strings.TrimPrefix(ref, "env:")
			v, ok := os.LookupEnv(name)
			if !ok && firstErr == nil {
				firstErr = fmt.Errorf("environment variable %s is not set", name)
			}
			return v
		}
	})
	return out, firstErr
}
