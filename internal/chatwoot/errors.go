package chatwoot

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error bodies exactly as upstream writes them.
const (
	MsgInvalidToken        = "Invalid Access Token"
	MsgSignIn              = "You need to sign in or sign up before continuing."
	MsgNotInAccount        = "You are not authorized to access this account"
	MsgNotAuthorizedAction = "You are not authorized to do this action"
	MsgNotFound            = "Resource could not be found"
	MsgAccountSuspended    = "Account is suspended"
	MsgBotsNotAuthorized   = "Access to this endpoint is not authorized for bots"
	MsgParamMissing        = "param is missing or the value is empty: webhook"
	MsgURLInvalid          = "Url is invalid"
	MsgURLTaken            = "Url has already been taken"
	MsgSubscriptionsBad    = "Subscriptions Invalid events"
)

// ErrorBody covers every error shape upstream answers with: {"error"},
// {"errors":[...]} and the 422 {"message","attributes"}.
type ErrorBody struct {
	Error      string   `json:"error,omitempty"`
	Errors     []string `json:"errors,omitempty"`
	Message    string   `json:"message,omitempty"`
	Attributes []string `json:"attributes,omitempty"`
}

// Text returns the human part of the body, whichever shape it had.
func (b ErrorBody) Text() string {
	switch {
	case b.Message != "":
		return b.Message
	case b.Error != "":
		return b.Error
	default:
		return strings.Join(b.Errors, "; ")
	}
}

// APIError is a non-2xx answer from Chatwoot. Its Error text says what went
// wrong and, where the cause is known, what to do about it.
type APIError struct {
	StatusCode int
	Method     string
	Path       string
	AccountID  int64 // 0 when the route is not account scoped
	Body       ErrorBody
	Attempts   int // >1 when retries were spent on this answer
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("chatwoot: %s %s answered %d", e.Method, e.Path, e.StatusCode)
	if t := e.Body.Text(); t != "" {
		msg += fmt.Sprintf(" %q", t)
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if h := e.Hint(); h != "" {
		msg += ": " + h
	}
	return msg
}

// Hint says what the caller can do about the error, or "" when nothing specific.
func (e *APIError) Hint() string {
	text := e.Body.Text()
	switch {
	case e.StatusCode == http.StatusUnauthorized && text == MsgNotAuthorizedAction:
		return fmt.Sprintf("the token must belong to an administrator of account %d; use an administrator's access token (Profile settings → Access Token)", e.AccountID)
	case e.StatusCode == http.StatusUnauthorized && text == MsgNotInAccount:
		return fmt.Sprintf("the token's user is not a member of account %d; check account_id or use a token of that account's administrator", e.AccountID)
	case e.StatusCode == http.StatusUnauthorized:
		return "the API access token was refused; check api_access_token (or CHATWOOT_API_ACCESS_TOKEN)"
	case e.StatusCode == http.StatusNotFound && e.AccountID != 0 && !strings.Contains(e.Path, "/webhooks/"):
		return fmt.Sprintf("account %d does not exist on this Chatwoot; check account_id and base_url", e.AccountID)
	case e.StatusCode == http.StatusNotFound:
		return "it does not exist (any more); it may have been deleted outside Terraform"
	case e.StatusCode == http.StatusUnprocessableEntity && strings.Contains(text, MsgURLTaken):
		return "account already has a webhook with this url; import it (terraform import chatwoot_webhook.NAME <account_id>/<webhook_id>) or use another url"
	case e.StatusCode == http.StatusTooManyRequests:
		return "Chatwoot is rate limiting (3000 requests/minute per IP upstream); retry later or raise max_retries"
	case e.StatusCode >= 500:
		return "Chatwoot failed on its side; retry later or raise max_retries"
	}
	return ""
}

// IsNotFound reports whether err is a 404 from Chatwoot.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// WriteMayHaveLanded reports whether a failed write may have been applied
// by Chatwoot all the same: no answer came (a timeout, a reset, a
// cancelled request), a 5xx or an undecodable answer came, or a retry was
// refused as a duplicate of what an earlier attempt of it created ("Url
// has already been taken" after more than one attempt).
func WriteMayHaveLanded(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= 500 ||
			apiErr.StatusCode == http.StatusUnprocessableEntity && apiErr.Attempts > 1 && strings.Contains(apiErr.Body.Text(), MsgURLTaken)
	}
	return true // transport errors and undecodable answers alike
}

// IsUnauthorized reports whether err is a 401 from Chatwoot.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

func statusOf(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// DecodeError is a response Chatwoot should have answered with JSON but did not.
type DecodeError struct {
	Method, Path string
	StatusCode   int
	ContentType  string
	Err          error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("chatwoot: could not parse the answer to %s %s (status %d, Content-Type %q): %v; is base_url the address of a Chatwoot installation?",
		e.Method, e.Path, e.StatusCode, e.ContentType, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
