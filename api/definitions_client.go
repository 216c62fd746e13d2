package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefinitionsClient talks to the definition routes of an Amtsweg API
// server, as `amtsweg definitions deploy` and `list` do.
type DefinitionsClient struct {
	// BaseURL is the server's address, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Token is the bearer token (without "Bearer ").
	Token string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
}

// APIError is an answer of the server that is neither success nor a
// refusal of the definition: e.g. a missing token (401), a missing role
// (403) or a server problem (5xx).
type APIError struct {
	Status  int
	Message string
	Hint    string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// DeployOutcome is what happened to one deployed file. Either Refused is
// false and DeployResponse says created or unchanged, or Refused is true
// and Reason (with Hint, and Problems for an invalid definition) says why.
type DeployOutcome struct {
	DeployResponse
	Refused bool
	// Conflict is set when the version exists with other content (409).
	Conflict bool
	Reason   string
	Hint     string
	Problems []DefinitionProblem
}

func (c *DefinitionsClient) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *DefinitionsClient) do(ctx context.Context, method, path string, body io.Reader, header http.Header) (*http.Response, []byte, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	if _, err := url.ParseRequestURI(base); err != nil || base == "" {
		return nil, nil, fmt.Errorf("API address %q is not a URL such as http://127.0.0.1:8080", c.BaseURL)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, base+path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return res, nil, fmt.Errorf("%s %s: read answer: %w", method, base+path, err)
	}
	return res, data, nil
}

// apiError reads an error body of either form the server writes:
// {"error","hint"} or the token middleware's {"error","error_description"}.
func apiError(res *http.Response, body []byte) *APIError {
	var e struct {
		Error       string `json:"error"`
		Hint        string `json:"hint"`
		Description string `json:"error_description"`
	}
	out := &APIError{Status: res.StatusCode}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		out.Message, out.Hint = e.Error, e.Hint
		if e.Description != "" {
			out.Message += ": " + e.Description
		}
		return out
	}
	out.Message = strings.TrimSpace(string(body))
	if len(out.Message) > 300 {
		out.Message = out.Message[:300] + "…"
	}
	if out.Message == "" {
		out.Message = "no details given"
	}
	return out
}

// Deploy sends one definition file (its name is used in error positions).
// A definition the server refuses (invalid: 422, version conflict: 409) is
// an outcome, not an error; errors are for everything else.
func (c *DefinitionsClient) Deploy(ctx context.Context, filename string, src []byte) (DeployOutcome, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/yaml")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	res, body, err := c.do(ctx, http.MethodPost, "/api/v1/definitions", bytes.NewReader(src), h)
	if err != nil {
		return DeployOutcome{}, err
	}
	var out DeployOutcome
	switch res.StatusCode {
	case http.StatusCreated, http.StatusOK:
		if err := json.Unmarshal(body, &out.DeployResponse); err != nil {
			return out, fmt.Errorf("deploy %s: unreadable answer: %w", filename, err)
		}
		return out, nil
	case http.StatusUnprocessableEntity:
		var r DefinitionRefused
		if err := json.Unmarshal(body, &r); err != nil {
			return out, fmt.Errorf("deploy %s: unreadable refusal: %w", filename, err)
		}
		out.Refused, out.Reason, out.Hint, out.Problems = true, r.Error, r.Hint, r.Errors
		return out, nil
	case http.StatusConflict:
		e := apiError(res, body)
		out.Refused, out.Conflict, out.Reason, out.Hint = true, true, e.Message, e.Hint
		return out, nil
	}
	return out, fmt.Errorf("deploy %s: %w", filename, apiError(res, body))
}

// List returns the deployed versions, of key or of all keys when key is
// empty, by key and newest version first.
func (c *DefinitionsClient) List(ctx context.Context, key string) ([]DefinitionSummary, error) {
	path := "/api/v1/definitions"
	if key != "" {
		path += "?key=" + url.QueryEscape(key)
	}
	res, body, err := c.do(ctx, http.MethodGet, path, nil, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list definitions: %w", apiError(res, body))
	}
	var l DefinitionList
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("list definitions: unreadable answer: %w", err)
	}
	return l.Definitions, nil
}
