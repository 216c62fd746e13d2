package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/amtsweg/amtsweg/plugins/call"
)

// ProtocolVersion is the version of the plugin protocol this build speaks.
// It is negotiated during the go-plugin handshake; a plugin built for another
// version fails to load with a message naming both versions.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake every Amtsweg plugin and host use.
// The magic cookie is not a security measure: it only keeps a plugin from
// being run by hand or by another go-plugin host by mistake.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "AMTSWEG_PLUGIN",
	MagicCookieValue: "f3c1b7e2-amtsweg-activity-plugin",
}

// PluginSetKey is the name under which a plugin process serves its
// activities in the go-plugin plugin set.
const PluginSetKey = "activities"

// PluginSet returns the go-plugin plugin set that serves impl (plugin side)
// or dispenses a client (host side, impl nil).
func PluginSet(impl Plugin) goplugin.PluginSet {
	return goplugin.PluginSet{PluginSetKey: &GRPCPlugin{Impl: impl}}
}

// ActivitySpec describes one activity a loaded plugin offers.
type ActivitySpec struct {
	// Plugin is the name of the plugin that offers the activity ("fees").
	Plugin string `json:"plugin"`
	// Name is the activity's name inside the plugin ("compute").
	Name string `json:"name"`
	// Description says in one sentence what the activity does.
	Description string `json:"description,omitempty"`
	// PluginVersion is the version of the plugin that offers the activity.
	PluginVersion string `json:"pluginVersion"`
	// Input is the JSON Schema the activity's input must satisfy.
	Input json.RawMessage `json:"input"`
	// Output is the JSON Schema of the activity's output.
	Output json.RawMessage `json:"output"`
}

// FullName is the name definitions and Temporal use for the activity:
// "<plugin>.<activity>", e.g. "fees.compute".
func (s ActivitySpec) FullName() string { return s.Plugin + "." + s.Name }

// Manifest is what a plugin says about itself (the Describe call).
type Manifest struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Activities []ActivitySpec `json:"activities"`
}

// Call is one invocation of an activity (see package call, where it is
// defined so that the workflow layer can build one without linking the
// plugin protocol).
type Call = call.Call

// Error is an activity failure reported by a plugin (or by the host on the
// plugin's behalf). Retryable errors are retried by Temporal under the step's
// retry policy; final ones fail the step at once.
type Error struct {
	Retryable bool   `json:"retryable"`
	Message   string `json:"message"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Plugin is the interface of a plugin as Go code sees it. The host calls it;
// it is implemented by the gRPC client shim (a plugin in another process)
// and by in-process implementations such as the SDK's.
type Plugin interface {
	// Describe reports the plugin's name, version and activities.
	Describe(ctx context.Context) (Manifest, error)
	// Execute runs the activity call.Activity (full name). A failure of
	// the activity itself is a *Error; any other error means the plugin
	// could not be reached.
	Execute(ctx context.Context, call Call) (json.RawMessage, error)
}

// InProcess is a plugin that runs inside the host process, such as the
// worker's built-in "amtsweg" activities (made with sdk.InProcess) or a
// plugin connected in-process over gRPC by sdktest. The host lists and
// executes its activities like those of any other plugin.
type InProcess = Plugin

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// ValidateName checks a plugin or activity name: lower-case letters, digits
// and single dashes, starting with a letter ("fees", "case-number").
func ValidateName(kind, name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%s name %q is invalid: use lower-case letters, digits and single dashes, starting with a letter (e.g. \"case-number\")", kind, name)
	}
	return nil
}

// SplitFullName splits "<plugin>.<activity>" into its parts.
func SplitFullName(full string) (plugin, activity string, ok bool) {
	plugin, activity, ok = strings.Cut(full, ".")
	if !ok || plugin == "" || activity == "" || strings.Contains(activity, ".") {
		return "", "", false
	}
	return plugin, activity, true
}

// Validate checks a manifest: valid and unique names, a version, and input
// and output schemas that compile. It returns the first problem found.
func (m Manifest) Validate() error {
	if err := ValidateName("plugin", m.Name); err != nil {
		return err
	}
	if m.Version == "" {
		return fmt.Errorf("plugin %s: version is empty; set a semantic version such as \"1.0.0\"", m.Name)
	}
	seen := make(map[string]bool, len(m.Activities))
	for _, a := range m.Activities {
		if err := ValidateName("activity", a.Name); err != nil {
			return fmt.Errorf("plugin %s: %w", m.Name, err)
		}
		if seen[a.Name] {
			return fmt.Errorf("plugin %s: activity %q is declared twice", m.Name, a.Name)
		}
		seen[a.Name] = true
		if a.Plugin != m.Name {
			return fmt.Errorf("plugin %s: activity %s names plugin %q", m.Name, a.Name, a.Plugin)
		}
		if _, err := CompileSchema(a.FullName()+" input", a.Input); err != nil {
			return fmt.Errorf("plugin %s: %w", m.Name, err)
		}
		if _, err := CompileSchema(a.FullName()+" output", a.Output); err != nil {
			return fmt.Errorf("plugin %s: %w", m.Name, err)
		}
	}
	return nil
}
