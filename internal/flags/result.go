package flags

// Reason is an OpenFeature resolution reason.
type Reason string

// The reasons an evaluation reports (OpenFeature / flagd vocabulary).
const (
	ReasonStatic         Reason = "STATIC"          // no targeting: the default variant, cacheable
	ReasonTargetingMatch Reason = "TARGETING_MATCH" // a targeting rule chose the variant
	ReasonSplit          Reason = "SPLIT"           // the variant came from a fractional split
	ReasonDefault        Reason = "DEFAULT"         // targeting returned null: the default variant
	ReasonDisabled       Reason = "DISABLED"        // state DISABLED: no value, the caller's default applies
	ReasonError          Reason = "ERROR"           // see ErrorCode
)

// ErrorCode is an OpenFeature error code.
type ErrorCode string

// The error codes an evaluation can report.
const (
	ErrFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	ErrParse               ErrorCode = "PARSE_ERROR"
	ErrTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	ErrTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	ErrInvalidContext      ErrorCode = "INVALID_CONTEXT"
	ErrGeneral             ErrorCode = "GENERAL"
)

// FlagType is the type of a flag's variant values.
type FlagType string

// The flag types (all variants of a flag share one).
const (
	TypeBoolean FlagType = "boolean"
	TypeString  FlagType = "string"
	TypeNumber  FlagType = "number"
	TypeObject  FlagType = "object"
)

// Result is the outcome of evaluating one flag.
type Result struct {
	Key string
	// Value is the variant's value as decoded from JSON (bool, string, float64,
	// map[string]any, []any); nil when no variant was resolved (error, disabled, or a
	// flag without a default variant whose targeting returned null).
	Value        any
	Variant      string
	Reason       Reason
	ErrorCode    ErrorCode
	ErrorDetails string
	// Metadata is the flag's metadata merged over the flag set's; shared, do not modify.
	Metadata map[string]any
}

// OK reports whether the evaluation resolved a variant.
func (r Result) OK() bool { return r.ErrorCode == "" && r.Variant != "" }
