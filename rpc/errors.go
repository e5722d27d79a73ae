package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The standard JSON-RPC 2.0 error codes.
const (
	CodeParseError     = -32700 // the body is not JSON
	CodeInvalidRequest = -32600 // not a request object, empty or oversized batch, body too large
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602 // the message says which param and why
	CodeInternal       = -32603
)

// Reasons carried in an application error's data ({"reason": …}) by the
// server itself; a tx refusal carries the txpool's reason name instead.
const (
	ReasonNotFound     = "not-found"
	ReasonUnauthorized = "unauthorized"
	ReasonUnavailable  = "unavailable"
	ReasonTimeout      = "timeout"
)

// Errors a Backend may wrap to choose the error code of an admin or
// action method (net_connect, net_ban, net_unban, miner_start): a request
// the backend finds malformed (an unparsable multiaddr or peer id) is
// CodeInvalidParams, one it cannot carry out now is CodeUnavailable.
// Other backend errors of those methods are CodeUnavailable too; of the
// read methods, CodeInternal.
var (
	ErrInvalidArgument = errors.New("invalid argument")
	ErrUnavailable     = errors.New("unavailable")
)

// Error is a JSON-RPC error object: what the server sends and what the
// Client returns for it. Data, when present, is {"reason": "…"} for the
// application codes (Code* constants in api.go).
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error returns the message and the code, e.g.
// "nonce-too-low: nonce 3, account is at 5 (code -32000)".
func (e *Error) Error() string {
	return e.Message + " (code " + strconv.Itoa(e.Code) + ")"
}

// Reason returns data.reason, or "" when the error carries none.
func (e *Error) Reason() string {
	if len(e.Data) == 0 {
		return ""
	}
	var d struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(e.Data, &d) != nil {
		return ""
	}
	return d.Reason
}

// newError returns an error object; a non-empty reason becomes
// data.reason.
func newError(code int, reason, format string, args ...any) *Error {
	e := &Error{Code: code, Message: fmt.Sprintf(format, args...)}
	if reason != "" {
		e.Data = reasonData(reason)
	}
	return e
}

func reasonData(reason string) json.RawMessage {
	b, _ := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason}) // cannot fail for a string
	return b
}

// errInvalidParams is the -32602 error; the message says what is wrong.
func errInvalidParams(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: "invalid params: " + fmt.Sprintf(format, args...)}
}

// ErrUnreachable is matched (errors.Is) by a Client error when no
// connection to the server could be made.
var ErrUnreachable = errors.New("cairnd unreachable")

// unreachableError is a failed connection: its message names the URL
// and the cause, and it matches ErrUnreachable.
type unreachableError struct {
	url   string
	cause error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach cairnd at %s (is it running?): %v", e.url, e.cause)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.cause} }
