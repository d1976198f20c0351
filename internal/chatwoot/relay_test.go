package chatwoot

import "testing"

func TestRelayAddressRoundTrip(t *testing.T) {
	for _, tc := range []struct{ base, dest, want string }{
		{"https://relay.example.com", "https://bot.example.com/hook?token=a&b=c", "https://relay.example.com/v1/accounts/7/relay?to=https%3A%2F%2Fbot.example.com%2Fhook%3Ftoken%3Da%26b%3Dc"},
		{"http://10.0.0.5:8787/", "http://x/", "http://10.0.0.5:8787/v1/accounts/7/relay?to=http%3A%2F%2Fx%2F"},
		{"https://edge.example.com/chatwoot", "https://bot.example.com/h", "https://edge.example.com/chatwoot/v1/accounts/7/relay?to=https%3A%2F%2Fbot.example.com%2Fh"},
	} {
		a, err := NewRelayAddress(tc.base, 7, tc.dest)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.String(); got != tc.want {
			t.Fatalf("String = %s, want %s", got, tc.want)
		}
		back, ok := ParseRelayAddress(a.String())
		if !ok || back != a {
			t.Fatalf("ParseRelayAddress(%s) = %+v, %v; want %+v", a, back, ok, a)
		}
	}
}

func TestParseRelayAddressRefuses(t *testing.T) {
	for _, raw := range []string{
		"https://bot.example.com/hook",                                  // a direct webhook
		"https://r.example/v1/accounts/1/events?to=https%3A%2F%2Fx",     // ingest, not relay
		"https://r.example/v1/accounts/x/relay?to=https%3A%2F%2Fx",      // account not a number
		"https://r.example/v1/accounts/01/relay?to=https%3A%2F%2Fx",     // not canonical
		"https://r.example/v1/accounts/0/relay?to=https%3A%2F%2Fx",      // not positive
		"https://r.example/v1/accounts/1/relay",                         // no destination
		"https://r.example/v1/accounts/1/relay?to=",                     // empty destination
		"https://r.example/v1/accounts/1/relay?to=a&to=b",               // two destinations
		"https://r.example/v1/accounts/1/relay?to=https%3A%2F%2Fx&x=1",  // another parameter
		"https://r.example/v1/accounts/1/relay/more?to=https%3A%2F%2Fx", // another path
		"ftp://r.example/v1/accounts/1/relay?to=https%3A%2F%2Fx",        // not http(s)
		"https://r.example/v1/accounts/1/relay?to=https%3A%2F%2Fx#f",    // fragment
	} {
		if a, ok := ParseRelayAddress(raw); ok {
			t.Errorf("ParseRelayAddress(%q) = %+v, want not a relay address", raw, a)
		}
	}
}

func TestParseRelayBase(t *testing.T) {
	for _, bad := range []string{"relay.example.com", "ftp://x", "https://x/?a=1", "https://u:p@x", "https://x/#f", ""} {
		if _, err := ParseRelayBase(bad); err == nil {
			t.Errorf("ParseRelayBase(%q) accepted", bad)
		}
	}
	if b, err := ParseRelayBase("https://x/prefix/"); err != nil || b != "https://x/prefix" {
		t.Fatalf("ParseRelayBase = %q, %v", b, err)
	}
}
