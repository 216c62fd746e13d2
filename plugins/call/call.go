// Package call defines the one argument every plugin activity takes: the
// invocation of an activity with its application, step and idempotency key.
// It is a leaf, so that the procedure workflow builds calls without linking
// the plugin protocol (gRPC, hashicorp/go-plugin); plugin authors know it as
// plugins.Call.
package call

import "encoding/json"

// Call is one invocation of an activity. It is also the single argument the
// procedure workflow passes to every service-step activity; the activity type
// name registered with Temporal is the activity's full name.
type Call struct {
	// Activity is the activity's full name, "<plugin>.<activity>".
	Activity string `json:"activity"`
	// Reference is the application's reference number.
	Reference string `json:"reference,omitempty"`
	// Tenant is the authority the application belongs to.
	Tenant string `json:"tenant,omitempty"`
	// Step is the id of the procedure step that makes the call.
	Step string `json:"step,omitempty"`
	// IdempotencyKey is the same for every attempt of one call and differs
	// between calls; plugins with side effects use it to act once.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Attempt counts attempts starting at 1. The host sets it from the
	// Temporal activity info when called as an activity.
	Attempt int32 `json:"attempt,omitempty"`
	// Input is the activity's input, a JSON document.
	Input json.RawMessage `json:"input"`
}
