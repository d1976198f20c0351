// Package version holds the build's version, set at link time by goreleaser
// (-X github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version.Version=...).
package version

// Version is "dev" in local builds.
var Version = "dev"

// UserAgent names the project and version in outgoing requests.
func UserAgent() string { return "terraform-provider-chatwoot/" + Version }
