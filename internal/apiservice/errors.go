package apiservice

import "strconv"

// Domain errors: internal/server maps them to HTTP status codes (422, 404, 400, 409).

// ValidationError is input refused as a whole; Errors lists every problem.
type ValidationError struct {
	Errors []string
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 1 {
		return e.Errors[0]
	}
	return strconv.Itoa(len(e.Errors)) + " validation errors"
}

// NotFoundError says a named object does not exist.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return e.What + " not found" }

// InvalidError is a request the caller must fix (a command that does not exist, a kind
// that cannot be applied).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// ConflictError is a write that lost to concurrent writes too many times.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }
