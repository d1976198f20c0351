package provider

import (
	"context"
	"fmt"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/mockapi"
)

// testAccProviders serves the provider in-process, with retry waits short
// enough for fault-injection tests (Retry-After up to 2s is still honoured).
func testAccProviders() map[string]func() (tfprotov6.ProviderServer, error) {
	return testAccProvidersWith(nil)
}

// testAccProvidersWith is testAccProviders whose client uses transport.
func testAccProvidersWith(transport http.RoundTripper) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"chatwoot": providerserver.NewProtocol6WithError(&chatwootProvider{
			version:      "test",
			retryWaitMin: 10 * time.Millisecond,
			retryWaitMax: 2 * time.Second,
			transport:    transport,
		}),
	}
}

// newMock starts a fresh mock Chatwoot for one test.
func newMock(t *testing.T) (*mockapi.Server, string) {
	t.Helper()
	srv, ts := mockapi.NewTestServer(t, mockapi.Options{})
	return srv, ts.URL
}

// providerConfig is a provider block for the mock; accountID 0 leaves the
// provider without a default account.
func providerConfig(baseURL, token string, accountID int64) string {
	account := ""
	if accountID != 0 {
		account = fmt.Sprintf("\n  account_id       = %d", accountID)
	}
	return fmt.Sprintf(`
provider "chatwoot" {
  base_url         = %q
  api_access_token = %q%s
  request_timeout  = "5s"
  max_retries      = 3
}
`, baseURL, token, account)
}

// adminConfig is the usual provider block: administrator of accounts 1 and
// 2, default account 1.
func adminConfig(baseURL string) string {
	return providerConfig(baseURL, mockapi.AdminToken, 1)
}

// mockClient talks to the mock out of band, as another Chatwoot user would.
func mockClient(t *testing.T, baseURL string) *chatwoot.Client {
	t.Helper()
	c, err := chatwoot.NewClient(chatwoot.Options{BaseURL: baseURL, Token: mockapi.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countRequests counts the mock's requests with this method and path.
func countRequests(srv *mockapi.Server, method, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// clearProviderEnv empties the provider's environment variables so a test
// sees only its own configuration. It uses t.Setenv, so the test cannot be
// parallel.
func clearProviderEnv(t *testing.T) {
	for _, env := range []string{EnvBaseURL, EnvAPIAccessToken, EnvAccountID} {
		t.Setenv(env, "")
	}
}

const webhookConfigMinimal = `
resource "chatwoot_webhook" "test" {
  url = "https://hooks.example.com/minimal"
}
`

func TestAccProvider_missingToken(t *testing.T) {
	clearProviderEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: `
provider "chatwoot" {
  base_url   = "http://127.0.0.1:9"
  account_id = 1
}
` + webhookConfigMinimal,
			ExpectError: flexRe(`Missing Chatwoot API access token.*CHATWOOT_API_ACCESS_TOKEN`),
		}},
	})
}

// TestAccProvider_planChecksTheToken: what would only fail at apply, after
// review, fails at plan: an unknown token, an address where nothing
// answers, one that is not Chatwoot.
func TestAccProvider_planChecksTheToken(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	notChatwoot := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notChatwoot.Close)
	for _, tc := range []struct {
		name, config, want string
	}{
		{"unknown token", providerConfig(url, "no-such-token", 1), `Cannot use the Chatwoot API.*refused the API access token \("Invalid Access Token"\)`},
		{"nothing listening", providerConfig("http://127.0.0.1:9", mockapi.AdminToken, 1), `Cannot use the Chatwoot API at http://127.0.0.1:9.*Nothing usable answered.*Check base_url`},
		{"not Chatwoot", providerConfig(notChatwoot.URL, mockapi.AdminToken, 1), `does not look like a Chatwoot installation`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			planOnlyError(t, tc.config+webhookConfigMinimal, tc.want)
		})
	}
}

// TestAccProvider_baseURLFromTheBrowser: a base_url copied from the
// browser works, with a warning naming the url used.
func TestAccProvider_baseURLFromTheBrowser(t *testing.T) {
	t.Parallel()
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: providerConfig(url+"/app/accounts/1/settings/integrations/webhook", mockapi.AdminToken, 1) + webhookConfigMinimal,
			Check:  resource.TestCheckResourceAttr("chatwoot_webhook.test", "account_id", "1"),
		}, {
			Config:           providerConfig(url+"/api/v1", mockapi.AdminToken, 1) + webhookConfigMinimal,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}

func TestAccProvider_malformedBaseURL(t *testing.T) {
	t.Parallel()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: `
provider "chatwoot" {
  base_url         = "app.chatwoot.com/api"
  api_access_token = "x"
  account_id       = 1
}
` + webhookConfigMinimal,
			ExpectError: flexRe(`Invalid Chatwoot base URL.*not an absolute http\(s\) URL`),
		}},
	})
}

func TestAccProvider_malformedBaseURLFromEnv(t *testing.T) {
	clearProviderEnv(t)
	t.Setenv(EnvBaseURL, "ftp://chatwoot.example.com")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: `
provider "chatwoot" {
  api_access_token = "x"
  account_id       = 1
}
` + webhookConfigMinimal,
			ExpectError: flexRe(`Invalid Chatwoot base URL.*CHATWOOT_BASE_URL`),
		}},
	})
}

func TestAccProvider_badAccountIDEnv(t *testing.T) {
	clearProviderEnv(t)
	t.Setenv(EnvAccountID, "acme")
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config:      providerConfig(url, mockapi.AdminToken, 0) + webhookConfigMinimal,
			ExpectError: flexRe(`Invalid CHATWOOT_ACCOUNT_ID.*"acme".*positive account number`),
		}},
	})
}

func TestAccProvider_badRequestTimeout(t *testing.T) {
	t.Parallel()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: `
provider "chatwoot" {
  base_url         = "http://127.0.0.1:9"
  api_access_token = "x"
  request_timeout  = "thirty seconds"
}
` + webhookConfigMinimal,
			ExpectError: flexRe(`Invalid duration.*"30s"`),
		}},
	})
}

// TestAccProvider_envConfiguration configures the provider from the
// environment alone.
func TestAccProvider_envConfiguration(t *testing.T) {
	clearProviderEnv(t)
	srv, url := newMock(t)
	t.Setenv(EnvBaseURL, url)
	t.Setenv(EnvAPIAccessToken, mockapi.AdminToken)
	t.Setenv(EnvAccountID, "2")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: webhookConfigMinimal,
			Check: func(*terraform.State) error {
				if n := countRequests(srv, "POST", "/api/v1/accounts/2/webhooks"); n != 1 {
					return fmt.Errorf("want 1 create in account 2 (from %s), got %d", EnvAccountID, n)
				}
				return nil
			},
		}},
	})
}

// TestAccProvider_tokenNeverLogged runs a create, refresh and destroy at
// TF_LOG=TRACE with the provider's logs in a file, and checks that request
// lines are there and the token is not.
func TestAccProvider_tokenNeverLogged(t *testing.T) {
	clearProviderEnv(t)
	logDir := t.TempDir()
	if d := os.Getenv("KEEP_LOG_DIR"); d != "" { // to read the log after the run
		logDir = d
	}
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH_MASK", filepath.Join(logDir, "%s.log"))
	// The token comes from the environment: the testing framework itself
	// logs each step's configuration at TRACE, so a token written there
	// would show up in the log without the provider leaking it.
	t.Setenv(EnvAPIAccessToken, mockapi.AdminToken)
	_, url := newMock(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders(),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "chatwoot" {
  base_url   = %q
  account_id = 1
}
`, url) + webhookConfigMinimal,
		}},
	})

	raw, err := os.ReadFile(filepath.Join(logDir, strings.ReplaceAll(t.Name(), "/", "__")+".log"))
	if err != nil {
		t.Fatalf("reading the provider log: %v", err)
	}
	logs := string(raw)
	if strings.Contains(logs, mockapi.AdminToken) {
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, mockapi.AdminToken) {
				t.Errorf("token in log line: %s", line)
			}
		}
	}
	// Every request of the run is logged (fields come in any order).
	requests := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "chatwoot request: ") {
			for _, m := range []string{"method=POST", "method=GET", "method=DELETE"} {
				if strings.Contains(line, m) && strings.Contains(line, "path=/api/v1/accounts/1/webhooks") {
					requests[m]++
				}
			}
		}
	}
	for _, m := range []string{"method=POST", "method=GET", "method=DELETE"} {
		if requests[m] == 0 {
			t.Errorf("the TRACE log (%d bytes) has no request line with %s; the test cannot see requests", len(logs), m)
		}
	}
	t.Logf("provider TRACE log: %d bytes, request lines %v", len(logs), requests)
}

// TestTflogLoggerMasksToken checks the adapter alone: even a message or a
// field carrying the token comes out masked.
func TestTflogLoggerMasksToken(t *testing.T) {
	var buf strings.Builder
	ctx := tflogtest.RootLogger(context.Background(), &buf)
	l := tflogLogger{token: "s3cr3t-token"}
	l.Debug(ctx, "chatwoot request with s3cr3t-token", "path", "/api/v1/profile", "header", "api_access_token: s3cr3t-token",
		"error", fmt.Errorf("wrapped s3cr3t-token"))
	out := buf.String()
	if strings.Contains(out, "s3cr3t-token") {
		t.Fatalf("token leaked: %s", out)
	}
	if !strings.Contains(out, "/api/v1/profile") || !strings.Contains(out, "chatwoot request") {
		t.Fatalf("log line lost its content: %s", out)
	}
}

// flexRe compiles an expected-error pattern in which every space matches
// any run of white space, since Terraform wraps diagnostics to its width.
func flexRe(pattern string) *regexp.Regexp {
	return regexp.MustCompile("(?s)" + strings.ReplaceAll(pattern, " ", `\s+`))
}
