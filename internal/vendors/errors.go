package vendors

import (
	"errors"
	"fmt"

	"groupsync/internal/printable"
)

// Kinds of vendor error. Callers branch on them with errors.Is.
var (
	// ErrNotFound: the vendor says the group does not exist (Lunkr 20201).
	ErrNotFound = errors.New("not found")
	// ErrNoPermission: the token or operator may not do this (Lunkr 10006).
	ErrNoPermission = errors.New("no permission")
	// ErrBadRequest: the vendor refused the request as invalid; retrying will not help.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized: the token is missing, invalid or expired.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRateLimited: the vendor answered 429, or a code that means rate
	// limited (Lunkr 10008), and retries ran out.
	ErrRateLimited = errors.New("rate limited")
	// ErrTransient: a network error or 5xx that retries did not overcome.
	ErrTransient = errors.New("transient failure")
	// ErrUnknownOutcome: a write was sent but its answer was lost; it may or
	// may not have been applied, and must not be sent again blindly.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrUnsupported: the vendor's API does not offer this call.
	ErrUnsupported = errors.New("not offered by the vendor")
	// ErrVendor: the vendor answered with an error this package does not classify.
	ErrVendor = errors.New("vendor error")
)

// Error is the error every vendor call returns. It names the vendor and the
// call and never contains the access token.
type Error struct {
	Vendor  string // "yunzhijia" or "lunkr"
	Call    string // the vendor call, e.g. "createGroup", "groups/info"
	Kind    error  // one of the Err* kinds above
	Code    string // the vendor's code or the HTTP status, when there was one
	Message string // the vendor's message or a description, token redacted
	Err     error  // the underlying error, already redacted; may be nil
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.Vendor, e.Call, e.Kind)
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	// The message and the cause may quote the vendor: escaped, they can
	// neither break a line nor drive a terminal wherever the error goes.
	if e.Message != "" {
		s += ": " + printable.Escape(e.Message)
	}
	if e.Err != nil {
		s += ": " + printable.Escape(e.Err.Error())
	}
	return s
}

// Is reports whether target is this error's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// redactedError carries a message with the token removed, in place of an
// error (such as *url.Error) whose text would have carried it.
type redactedError struct{ msg string }

func (r redactedError) Error() string { return r.msg }
