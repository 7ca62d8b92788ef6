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

// Msg is a user-facing message: the ID of a message in the catalogue
// (internal/i18n) and its named arguments as name, value pairs, so that the
// server can show it in each reader's language.
type Msg struct {
	ID   string
	Args []any
}

// M returns the message id with named arguments (name, value pairs).
func M(id string, kv ...any) Msg { return Msg{ID: id, Args: kv} }

// Error is an error with a code, a user-facing message and optional
// per-field messages (form field name to message). Message is a catalogue
// ID; Args are its named arguments.
type Error struct {
	Code    Code
	Message string
	Args    []any
	Fields  map[string]Msg
	Err     error // the underlying cause, for logs; never shown
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Args) > 0 {
		msg += fmt.Sprint(e.Args)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and message: a catalogue ID
// and its named arguments (name, value pairs).
func New(code Code, id string, kv ...any) *Error {
	return &Error{Code: code, Message: id, Args: kv}
}

// Wrap returns an error with the given code and message (a catalogue ID,
// or "" for none) around cause.
func Wrap(code Code, cause error, id string, kv ...any) *Error {
	return &Error{Code: code, Message: id, Args: kv, Err: cause}
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

// Generic is the message of an error that has none of its own.
const Generic = "error.generic"

// MessageOf returns the user-facing message of err, or a generic one.
func MessageOf(err error) Msg {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return Msg{ID: e.Message, Args: e.Args}
	}
	return Msg{ID: Generic}
}

// FieldsOf returns the per-field messages of err (nil when there are none).
func FieldsOf(err error) map[string]Msg {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Fields collects per-field validation messages.
type Fields map[string]Msg

// Add records the message id (with named arguments) for field unless the
// field already has a message.
func (f Fields) Add(field, id string, kv ...any) {
	if _, ok := f[field]; !ok {
		f[field] = Msg{ID: id, Args: kv}
	}
}

// Err returns an Invalid error carrying the messages, or nil when empty.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "form.correct_fields", Fields: f}
}
