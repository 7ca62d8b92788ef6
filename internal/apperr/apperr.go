// Package apperr is the application's error vocabulary.
//
// Domain and storage code return *Error values with a Code; the server maps
// each Code to an HTTP status in exactly one place. Messages are written for
// the user and never carry personal data or internal detail.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for the user interface.
type Code string

// The codes, after benbjohnson/wtf.
const (
	Invalid      Code = "invalid"      // bad input; see Fields
	NotFound     Code = "not_found"    // no such record (or not visible to the user)
	Conflict     Code = "conflict"     // duplicate or out-of-date change
	Forbidden    Code = "forbidden"    // authenticated but not allowed
	Unauthorized Code = "unauthorized" // not logged in or bad credentials
	Unavailable  Code = "unavailable"  // database down, pool exhausted, timeout: try again
	Internal     Code = "internal"     // anything else
)

// Error is an error with a code, a user-facing message and optional
// per-field messages (form field name to message).
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	Err     error // the underlying cause, for logs; never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with the given code and message around cause.
func Wrap(code Code, cause error, msg string) *Error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// CodeOf returns the code of err, Internal for errors without one and ""
// for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the user-facing message of err, or a generic one.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Something went wrong. Please try again."
}

// FieldsOf returns the per-field messages of err (nil when there are none).
func FieldsOf(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Fields collects per-field validation messages.
type Fields map[string]string

// Add records msg for field unless the field already has a message.
func (f Fields) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns an Invalid error carrying the messages, or nil when empty.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "Please correct the fields marked below.", Fields: f}
}
