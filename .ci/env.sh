# shellcheck shell=bash
# Sourced by .ci/run and the GNUmakefile: makes a terraform CLI available to
# the acceptance tests and tfplugindocs, building OpenTofu from the Go module
# proxy when no terraform binary exists (see README, "Tests").
export GOTOOLCHAIN=local CHECKPOINT_DISABLE=1 GOFLAGS=-buildvcs=false
# terraform warns, and OpenTofu breaks, when this names a missing file.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi

CI_BIN=${CI_BIN:-$(go env GOPATH)/bin}
mkdir -p "$CI_BIN"
case ":$PATH:" in *":$CI_BIN:"*) ;; *) export PATH="$CI_BIN:$PATH" ;; esac

OPENTOFU_VERSION=v1.12.6

ensure_terraform() {
	if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then return 0; fi
	if command -v terraform >/dev/null 2>&1; then
		TF_ACC_TERRAFORM_PATH=$(command -v terraform)
		export TF_ACC_TERRAFORM_PATH
		return 0
	fi
	if [ ! -x "$CI_BIN/tofu" ]; then
		echo "no terraform on PATH: building OpenTofu $OPENTOFU_VERSION from the Go module proxy (about 3 minutes)" >&2
		(cd / && go mod download "github.com/opentofu/opentofu@$OPENTOFU_VERSION") || return 1
		(cd "$(go env GOMODCACHE)/github.com/opentofu/opentofu@$OPENTOFU_VERSION" &&
			go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$CI_BIN/tofu" ./cmd/tofu) || return 1
	fi
	export TF_ACC_TERRAFORM_PATH="$CI_BIN/tofu"
	# The test configurations name no source, so chatwoot_webhook implies
	# <host>/hashicorp/chatwoot, as it does with terraform's defaults.
	export TF_ACC_PROVIDER_HOST=registry.opentofu.org TF_ACC_PROVIDER_NAMESPACE=hashicorp
}
