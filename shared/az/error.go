package az

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

// Kind classifies a failed az call.
type Kind int

// The kinds of failure. Azure's error code decides when az printed one it
// knows; otherwise the message's words do.
const (
	// KindOther is a failure of none of the kinds below.
	KindOther Kind = iota
	// KindTimeout: no answer within the Runner's Timeout.
	KindTimeout
	// KindNotLoggedIn: az needs `az login`: no account ("Please run 'az
	// login'"), a refresh token expired or revoked (AADSTS70043,
	// AADSTS700082), interactive authentication needed.
	KindNotLoggedIn
	// KindAuthorization: Azure denied the action (AuthorizationFailed,
	// LinkedAuthorizationFailed, "does not have authorization").
	KindAuthorization
	// KindSubscriptionNotFound: the subscription is not one the account can
	// see (SubscriptionNotFound, "The subscription … doesn't exist").
	KindSubscriptionNotFound
	// KindNotFound: the resource, its parent or its resource group does not
	// exist (ResourceNotFound, ParentResourceNotFound, ResourceGroupNotFound,
	// NotFound, "was not found", "could not be found").
	KindNotFound
	// KindPreconditionFailed: HTTP 412, the resource changed since it was
	// read (PreconditionFailed, "Precondition Failed", "does not match
	// etag").
	KindPreconditionFailed
	// KindOperationNotAllowed: Azure's code OperationNotAllowed: another
	// operation is in progress on the resource, or the VM is deallocated.
	KindOperationNotAllowed
	// KindConflict: Azure's code Conflict.
	KindConflict
)

var kindNames = [...]string{
	KindOther:                "Other",
	KindTimeout:              "Timeout",
	KindNotLoggedIn:          "NotLoggedIn",
	KindAuthorization:        "Authorization",
	KindSubscriptionNotFound: "SubscriptionNotFound",
	KindNotFound:             "NotFound",
	KindPreconditionFailed:   "PreconditionFailed",
	KindOperationNotAllowed:  "OperationNotAllowed",
	KindConflict:             "Conflict",
}

// String names the kind: "NotLoggedIn", "Timeout", ….
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a failed az call: az exited with a non-zero status, or gave no
// answer within the Runner's Timeout.
type Error struct {
	// Command is the command without its values, e.g. "az aks update" (the
	// leading words of the arguments that are not options).
	Command string
	// Kind classifies the failure.
	Kind Kind
	// Code is Azure's error code as az printed it: the "(Code)" of
	// "ERROR: (Code) Message", or the "Code: X" line; "" when none.
	Code string
	// Message is az's message: the text after "ERROR: " (and the
	// "(Code) " prefix), first line, clipped to 400 bytes ("…" after); the
	// "Message: " line when the ERROR line has no text; the last line of
	// stderr when az printed neither (it failed before it could: a Python
	// traceback, a broken install); "no error message" when empty.
	Message string
	// Principal, Action and Scope are set for KindAuthorization when az
	// names them ("The client 'x' with object id '…' does not have
	// authorization to perform action 'A' over scope 'S'").
	Principal, Action, Scope string
	// ExitCode is az's exit status; -1 when it did not exit (timeout).
	ExitCode int
	// Timeout and TimeoutHint are the Runner's, for KindTimeout.
	Timeout     time.Duration
	TimeoutHint string
}

// Error says in one line what the failure means: "<Command>: <what it
// means>" for a timeout, not being logged in and a denied action; "<Command>
// failed (exit status N): (<Code>) <Message>" for the others.
func (e *Error) Error() string {
	switch e.Kind {
	case KindTimeout:
		s := fmt.Sprintf("%s: timed out: no answer from az within %s", e.Command, formatTimeout(e.Timeout))
		if e.TimeoutHint != "" {
			s += " (" + e.TimeoutHint + ")"
		}
		return s
	case KindNotLoggedIn:
		return fmt.Sprintf("%s: not logged in to Azure: run `az login` (az: %s)", e.Command, e.text())
	case KindAuthorization:
		if e.Principal != "" && e.Action != "" && e.Scope != "" {
			return fmt.Sprintf("%s: no permission: Azure denied %s the action %s on %s", e.Command, e.Principal, e.Action, e.Scope)
		}
		return fmt.Sprintf("%s: no permission (az: %s)", e.Command, e.text())
	}
	status := fmt.Sprintf("exit status %d", e.ExitCode)
	if e.ExitCode < 0 {
		status = "no exit status"
	}
	return fmt.Sprintf("%s failed (%s): %s", e.Command, status, e.text())
}

// formatTimeout prints d as duration.Format does, without Go's trailing
// zero units: "2m", not "2m0s".
func formatTimeout(d time.Duration) string {
	s := duration.Format(d)
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// text is az's message as az printed it: "(<Code>) <Message>", or Message
// alone when there is no code.
func (e *Error) text() string {
	if e.Code == "" {
		return e.Message
	}
	return "(" + e.Code + ") " + e.Message
}

// IsKind is true when err is, or wraps, an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// maxMessage bounds Error.Message, in bytes.
const maxMessage = 400

var (
	// codePrefix is the "(Code) " that starts an ERROR line's text.
	codePrefix = lazyregexp.New(`^\(([A-Za-z][A-Za-z0-9_.]*)\)\s*`)
	// codeLine is the value of a "Code: X" line.
	codeLine = lazyregexp.New(`^([A-Za-z][A-Za-z0-9_.]*)$`)
	// authorizationFailed names who was denied what, and where.
	authorizationFailed = lazyregexp.New(`(?:client|object id) '([^']+)'.*?does not have authorization to perform action '([^']+)' over scope '([^']+)'`)
	// subscriptionNotFound is az's own words (in lower case) for a
	// subscription it does not know: "The subscription of 'x' doesn't
	// exist in cloud 'AzureCloud'", "Subscription 'x' not found".
	subscriptionNotFound = lazyregexp.New(`subscription (?:of )?'[^']*' (?:could not be found|was not found|not found|doesn't exist|does not exist)`)
)

// parse reads az's stderr into an *Error of command (Kind, Code, Message
// and, for KindAuthorization, Principal, Action and Scope). Of the lines,
// only "ERROR: …" (the first), "Code: …" and "Message: …" are read.
func parse(command string, stderr []byte) *Error {
	var (
		errText, msgLine, code, last string
		sawError, sawMessage         bool
	)
	for _, line := range strings.Split(string(stderr), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "ERROR:"):
			if sawError {
				continue
			}
			sawError = true
			errText = strings.TrimSpace(strings.TrimPrefix(line, "ERROR:"))
			if m := codePrefix.FindStringSubmatch(errText); m != nil {
				code = m[1]
				errText = errText[len(m[0]):]
			}
		case strings.HasPrefix(line, "Code:"):
			if m := codeLine.FindStringSubmatch(strings.TrimSpace(strings.TrimPrefix(line, "Code:"))); m != nil && code == "" {
				code = m[1]
			}
		case strings.HasPrefix(line, "Message:"):
			if !sawMessage {
				sawMessage = true
				msgLine = strings.TrimSpace(strings.TrimPrefix(line, "Message:"))
			}
		case line != "" && !strings.HasPrefix(line, "WARNING:"):
			last = line
		}
	}
	e := &Error{Command: command, Code: code}
	switch {
	case errText != "":
		e.Message = errText
	case msgLine != "":
		e.Message = msgLine
	case !sawError && !sawMessage:
		e.Message = last
	}
	if e.Message == "" {
		e.Message = "no error message"
	} else if len(e.Message) > maxMessage {
		e.Message = clip(e.Message, maxMessage) + "…"
	}
	// The kind is read from the whole of the ERROR and Message lines, not
	// from the clipped Message: an AuthorizationFailed's scope comes late.
	text := errText + "\n" + msgLine
	if !sawError && !sawMessage {
		text = last
	}
	e.Kind = classify(code, strings.ToLower(text))
	if e.Kind == KindAuthorization {
		if m := authorizationFailed.FindStringSubmatch(text); m != nil {
			e.Principal, e.Action, e.Scope = m[1], m[2], m[3]
		}
	}
	return e
}

// classify tells the kind from Azure's code, and without a code it knows,
// from lower, the message in lower case. Not being logged in comes first:
// az says so in words, with or without a code.
func classify(code, lower string) Kind {
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(lower, w) {
				return true
			}
		}
		return false
	}
	if has("az login", "refresh token has expired", "interactive authentication is needed", "aadsts70043", "aadsts700082") {
		return KindNotLoggedIn
	}
	switch code {
	case "AuthorizationFailed", "LinkedAuthorizationFailed":
		return KindAuthorization
	case "SubscriptionNotFound":
		return KindSubscriptionNotFound
	case "ResourceNotFound", "ParentResourceNotFound", "ResourceGroupNotFound", "NotFound":
		return KindNotFound
	case "PreconditionFailed":
		return KindPreconditionFailed
	case "OperationNotAllowed":
		return KindOperationNotAllowed
	case "Conflict":
		return KindConflict
	}
	switch {
	case has("does not have authorization"):
		return KindAuthorization
	case subscriptionNotFound.MatchString(lower):
		return KindSubscriptionNotFound
	case has("precondition failed", "does not match etag"):
		return KindPreconditionFailed
	case has("was not found", "could not be found"):
		return KindNotFound
	}
	return KindOther
}
