package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Reopen asks the server to reopen an ended procedure within its reopen
// window (POST /api/v1/applications/{reference}/reopen; role operator).
// The reason is recorded in the audit trail and shown to the citizen.
func (c *DefinitionsClient) Reopen(ctx context.Context, reference, reason string) (OperatorAction, error) {
	body, err := json.Marshal(ReopenRequest{Reason: reason})
	if err != nil {
		return OperatorAction{}, err
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	res, data, err := c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(reference)+"/reopen", bytes.NewReader(body), h)
	if err != nil {
		return OperatorAction{}, err
	}
	if res.StatusCode != http.StatusAccepted {
		return OperatorAction{}, fmt.Errorf("reopen %s: %w", reference, apiError(res, data))
	}
	var out OperatorAction
	if err := json.Unmarshal(data, &out); err != nil {
		return out, fmt.Errorf("reopen %s: unreadable answer: %w", reference, err)
	}
	return out, nil
}
