// Package host loads Amtsweg plugins and runs their activities for the
// Temporal worker.
//
// A Host starts every executable in its plugin directory (and the bundled
// plugins of the multi-call amtsweg binary) as a go-plugin process, asks
// each for its activities and registers them as "<plugin>.<activity>".
// In-process built-ins (sdk.InProcess) are listed and executed the same way.
// Execute validates the input against the activity's JSON Schema, passes the
// context's deadline and cancellation to the plugin, heartbeats while the
// call runs inside a Temporal activity, and restarts a plugin whose process
// died. DynamicActivity is the one Temporal activity the worker registers
// for all plugin activities; it maps plugin errors to retryable or
// non-retryable Temporal application errors. Watch rescans the plugin
// directory so a plugin dropped into it is picked up without a restart.
package host
