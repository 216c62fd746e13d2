package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// Version is the http plugin's version.
const Version = "1.0.0"

// maxResponse bounds a response body read from a specialist system.
const maxResponse = 8 << 20

// Plugin returns the http plugin configured from $AMTSWEG_HTTP_CONFIG.
func Plugin() (sdk.Plugin, error) {
	path := os.Getenv(EnvConfig)
	if path == "" {
		return New(&Config{}, nil), nil
	}
	c, err := LoadConfig(path)
	if err != nil {
		return sdk.Plugin{}, err
	}
	return New(c, nil), nil
}

// New returns the http plugin for c; client nil means a default client
// (timeouts come from each endpoint).
func New(c *Config, client *http.Client) sdk.Plugin {
	if client == nil {
		client = &http.Client{}
	}
	p := sdk.Plugin{Name: "http", Version: Version}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		p.Activities = append(p.Activities, sdk.Activity{
			Name:        e.Name,
			Description: e.describe(),
			Input:       e.inputSchema(),
			Output:      e.outputSchema(),
			Handler: func(ctx context.Context, call sdk.CallInfo, input json.RawMessage) (json.RawMessage, error) {
				return e.call(ctx, client, call, input)
			},
		})
	}
	return p
}

func (e *Endpoint) describe() string {
	if e.Description != "" {
		return e.Description
	}
	u := e.URL
	if i := strings.IndexAny(u, "?"); i >= 0 {
		u = u[:i]
	}
	return "Calls " + e.Method + " " + u
}

func (e *Endpoint) inputSchema() json.RawMessage {
	if e.InputSchema != nil {
		return mustJSON(e.InputSchema)
	}
	return json.RawMessage(`{"type":"object"}`)
}

func (e *Endpoint) outputSchema() json.RawMessage {
	if e.OutputSchema != nil {
		return mustJSON(e.OutputSchema)
	}
	if len(e.Response) > 0 {
		props := map[string]any{}
		req := make([]string, 0, len(e.Response))
		for k := range e.Response {
			props[k] = true
			req = append(req, k)
		}
		sort.Strings(req)
		return mustJSON(map[string]any{"type": "object", "properties": props, "required": req})
	}
	return json.RawMessage(`{"type":"object","properties":{"status":{"type":"integer"},"body":true},"required":["status","body"]}`)
}

func (e *Endpoint) call(ctx context.Context, client *http.Client, call sdk.CallInfo, raw json.RawMessage) (json.RawMessage, error) {
	var input any
	if err := json.Unmarshal(raw, &input); err != nil {
		return nil, sdk.Finalf("input is not JSON: %v", err)
	}
	fields, _ := input.(map[string]any)

	target, err := expandSecrets(e.URL)
	if err != nil {
		return nil, sdk.Finalf("endpoint %s: url: %v", e.Name, err)
	}
	if target, err = fill(target, fields, url.PathEscape); err != nil {
		return nil, sdk.Final(err)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, sdk.Finalf("endpoint %s: url %q: %v", e.Name, target, err)
	}
	if len(e.Query) > 0 {
		q := u.Query()
		for k, v := range e.Query {
			v, err := expandSecrets(v)
			if err != nil {
				return nil, sdk.Finalf("endpoint %s: query %s: %v", e.Name, k, err)
			}
			if v, err = fill(v, fields, func(s string) string { return s }); err != nil {
				return nil, sdk.Final(err)
			}
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}

	var body io.Reader
	if e.Method != http.MethodGet && e.Method != http.MethodDelete {
		payload := input
		if len(e.Request) > 0 {
			m := map[string]any{}
			for field, ptr := range e.Request {
				v, ok := pointer(input, ptr)
				if !ok {
					return nil, sdk.Finalf("endpoint %s: request field %s: the input has no value at %s", e.Name, field, ptr)
				}
				m[field] = v
			}
			payload = m
		}
		b, _ := json.Marshal(payload)
		body = bytes.NewReader(b)
	}

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, e.Method, u.String(), body)
	if err != nil {
		return nil, sdk.Finalf("endpoint %s: %v", e.Name, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if call.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", call.IdempotencyKey)
	}
	if call.Reference != "" {
		req.Header.Set("X-Amtsweg-Reference", call.Reference)
	}
	for k, v := range e.Headers {
		v, err := expandSecrets(v)
		if err != nil {
			return nil, sdk.Finalf("endpoint %s: header %s: %v", e.Name, k, err)
		}
		req.Header.Set(k, v)
	}

	resp, err := client.Do(req)
	if err != nil {
		// Network errors and timeouts: the system may be back later.
		return nil, sdk.Retryablef("%s %s: %v", e.Method, redact(u), err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, sdk.Retryablef("%s %s: read response: %v", e.Method, redact(u), err)
	}
	if len(respBody) > maxResponse {
		return nil, sdk.Finalf("%s %s: response larger than %d bytes", e.Method, redact(u), maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("%s %s answered %s: %s", e.Method, redact(u), resp.Status, excerpt(respBody))
		if e.retryable(resp.StatusCode) {
			return nil, sdk.Retryable(errors.New(msg))
		}
		return nil, sdk.Final(errors.New(msg))
	}

	var parsed any
	isJSON := len(bytes.TrimSpace(respBody)) > 0 && json.Unmarshal(respBody, &parsed) == nil
	if len(e.Response) == 0 {
		if !isJSON {
			parsed = string(respBody)
			if len(bytes.TrimSpace(respBody)) == 0 {
				parsed = nil
			}
		}
		return mustJSON(map[string]any{"status": resp.StatusCode, "body": parsed}), nil
	}
	if !isJSON {
		return nil, sdk.Finalf("%s %s: response is not JSON, cannot map it: %s", e.Method, redact(u), excerpt(respBody))
	}
	out := map[string]any{}
	for field, ptr := range e.Response {
		v, ok := pointer(parsed, ptr)
		if !ok {
			return nil, sdk.Finalf("%s %s: response has no value at %s (for output field %s): %s", e.Method, redact(u), ptr, field, excerpt(respBody))
		}
		out[field] = v
	}
	return mustJSON(out), nil
}

func (e *Endpoint) retryable(status int) bool {
	switch {
	case slices.Contains(e.RetryOn, status):
		return true
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return true
	}
	return false
}

// fill replaces {field} placeholders with top-level input fields.
func fill(s string, fields map[string]any, escape func(string) string) (string, error) {
	var firstErr error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := fields[name]
		if !ok || v == nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("the URL needs input field %q, which is missing", name)
			}
			return ""
		}
		switch x := v.(type) {
		case string:
			return escape(x)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("input field %q must be a string, number or boolean to go into the URL", name)
		}
		return ""
	})
	return out, firstErr
}

// pointer resolves an RFC 6901 JSON Pointer in v ("" is v itself).
func pointer(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// redact drops the query (which may hold secrets) from a URL for messages.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
