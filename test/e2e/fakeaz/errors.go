package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// armError is an error Azure Resource Manager answers with: an HTTP
// status, a code and a message.
type armError struct {
	status        int
	code, message string
}

func (e *armError) Error() string { return fmt.Sprintf("(%s) %s", e.code, e.message) }

// cliError is an error az itself prints, "ERROR: " and the text, before or
// without asking Azure: exit 1, or 2 for an argument error.
type cliError struct {
	text string
	exit int
}

func (e *cliError) Error() string { return e.text }

// internalError is the fake's own failure (bad state on disk): exit 3,
// which no caller should take for one of az's answers.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }

func internal(format string, a ...any) error {
	return &internalError{fmt.Errorf(format, a...)}
}

func argError(format string, a ...any) error {
	return &cliError{text: fmt.Sprintf(format, a...), exit: 2}
}

var errNotLoggedIn = &cliError{text: "Please run 'az login' to setup account.", exit: 1}

// report prints err the way az does and returns its exit code. A service
// error is printed as the Python SDK formats it, "(Code) Message" and
// Code:/Message: lines, exit 1, or 3 for a 404 (az's ResourceNotFoundError);
// with raw set (az rest), as az rest does: the HTTP reason and the body
// ARM sent, exit 1.
func report(err error, raw bool) int {
	var ae *armError
	var ce *cliError
	var ie *internalError
	switch {
	case errors.As(err, &ae) && raw:
		body, _ := marshal(map[string]map[string]string{"error": {"code": ae.code, "message": ae.message}}, false)
		fmt.Fprintf(os.Stderr, "ERROR: %s(%s)\n", http.StatusText(ae.status), bytes.TrimSpace(body))
		return 1
	case errors.As(err, &ae):
		azError(ae.code, ae.message)
		if ae.status == http.StatusNotFound {
			return 3
		}
		return 1
	case errors.As(err, &ce):
		fmt.Fprintf(os.Stderr, "ERROR: %s\n", ce.text)
		return ce.exit
	case errors.As(err, &ie):
		fmt.Fprintf(os.Stderr, "fakeaz: %v\n", ie.err)
		return 3
	default:
		fmt.Fprintf(os.Stderr, "fakeaz: %v\n", err)
		return 3
	}
}

// marshal encodes v as az prints JSON: keys sorted (maps are), <, > and &
// as they are, indented by two spaces when indent is set.
func marshal(v any, indent bool) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func printJSON(v any) int {
	b, err := marshal(v, true)
	if err != nil {
		return report(internal("printing the answer: %v", err), false)
	}
	os.Stdout.Write(b)
	return 0
}

// The errors ARM answers with, in its words.

func resourceGroupNotFound(rg string) error {
	return &armError{http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rg)}
}

// resourceNotFound names the resource by its type path under the resource
// group, e.g. "managedClusters/aks1/agentPools/np1".
func resourceNotFound(rg, typePath string) error {
	return &armError{http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource 'Microsoft.ContainerService/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typePath, rg)}
}

func authorizationFailed(action, scope string) error {
	return &armError{http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("The client 'alice@example.com' with object id '00000000-0000-0000-0000-0000000000aa' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", action, scope)}
}

func operationNotAllowed(op *operation) error {
	return &armError{http.StatusConflict, "OperationNotAllowed", fmt.Sprintf("Operation is not allowed because there's an in progress %s operation (operation ID: %s) on the managed cluster started on UTC %s. Please wait for it to finish before starting a new operation.", op.Kind, op.ID, op.StartedAt.UTC().Format("2006-01-02T15:04:05Z"))}
}

func preconditionFailed(given, current string) error {
	return &armError{http.StatusPreconditionFailed, "PreconditionFailed", fmt.Sprintf("Operation failed with status: 'Precondition Failed'. Details: Etag provided in if-match header \"%s\" does not match etag \"%s\" of resource.", given, current)}
}

func invalidAPIVersion(v string) error {
	return &armError{http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid. The supported versions are '2025-08-02-preview' and later.", v)}
}

func missingAPIVersion() error {
	return &armError{http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."}
}

// splitCode reads "(Code) message", as a marker file may give it.
func splitCode(text, defaultCode string) (code, msg string) {
	if strings.HasPrefix(text, "(") {
		if i := strings.Index(text, ") "); i > 1 && !strings.ContainsAny(text[1:i], " ()") {
			return text[1:i], text[i+2:]
		}
	}
	return defaultCode, text
}
