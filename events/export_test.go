package events

// DecodeProcedureEventMessageSDK is the decoder through the CloudEvents
// SDK that DecodeProcedureEventMessage falls back to, for tests and
// benchmarks comparing the two.
var DecodeProcedureEventMessageSDK = decodeProcedureEventMessageSDK
