package chatwoot

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Environment variables of the relay: the provider's relay_url and the
// daemon's --public-url.
const (
	EnvRelayURL       = "CHATWOOT_RELAY_URL"
	EnvRelayPublicURL = "CHATWOOT_RELAY_PUBLIC_URL"
)

// RelayQueryParam is the query parameter of a relay address that holds the
// percent-encoded destination.
const RelayQueryParam = "to"

// RelayPath is the path, below the relay's base, of account accountID's
// relay route: Chatwoot delivers a relayed webhook's events there.
func RelayPath(accountID int64) string {
	return "/v1/accounts/" + strconv.FormatInt(accountID, 10) + "/relay"
}

// RelayAddress is a webhook url that sends Chatwoot's deliveries through
// the relay: <Base>/v1/accounts/<AccountID>/relay?to=<Destination>.
type RelayAddress struct {
	Base        string // scheme://host[/prefix], no trailing slash
	AccountID   int64
	Destination string // decoded; not necessarily a valid url
}

// String is the url Chatwoot holds for the webhook.
func (a RelayAddress) String() string {
	return a.Base + RelayPath(a.AccountID) + "?" + RelayQueryParam + "=" + url.QueryEscape(a.Destination)
}

// NewRelayAddress builds the address of destination behind the relay whose
// base address (as Chatwoot reaches it) is base.
func NewRelayAddress(base string, accountID int64, destination string) (RelayAddress, error) {
	b, err := ParseRelayBase(base)
	if err != nil {
		return RelayAddress{}, err
	}
	return RelayAddress{Base: b, AccountID: accountID, Destination: destination}, nil
}

// ParseRelayBase checks a relay base address (an absolute http(s) url with
// no query or fragment) and returns it without a trailing slash.
func ParseRelayBase(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("not an absolute http(s) url like https://relay.example.com")
	}
	if u.User != nil {
		return "", fmt.Errorf("the url has credentials; give the relay's base address only, like https://relay.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s://%s%s has a query or a fragment; give the relay's base address only, like https://relay.example.com", u.Scheme, u.Host, u.EscapedPath())
	}
	return strings.TrimRight(base, "/"), nil
}

// ParseRelayAddress decodes a webhook url that names a relay route,
// whatever the relay's base; ok is false for any other url (a webhook
// Chatwoot delivers to directly).
func ParseRelayAddress(raw string) (RelayAddress, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return RelayAddress{}, false
	}
	path := u.EscapedPath()
	i := strings.LastIndex(path, "/v1/accounts/")
	if i < 0 {
		return RelayAddress{}, false
	}
	rest, ok := strings.CutSuffix(path[i+len("/v1/accounts/"):], "/relay")
	if !ok {
		return RelayAddress{}, false
	}
	account, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || account <= 0 || strconv.FormatInt(account, 10) != rest {
		return RelayAddress{}, false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || len(q) != 1 || len(q[RelayQueryParam]) != 1 || q.Get(RelayQueryParam) == "" {
		return RelayAddress{}, false
	}
	base := u.Scheme + "://" + u.Host + path[:i]
	return RelayAddress{Base: base, AccountID: account, Destination: q.Get(RelayQueryParam)}, true
}
