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
TERRAFORM_NEWER_VERSION=v1.13.3

ensure_terraform() {
	if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then return 0; fi
	if command -v terraform >/dev/null 2>&1; then
		TF_ACC_TERRAFORM_PATH=$(command -v terraform)
		export TF_ACC_TERRAFORM_PATH
		return 0
	fi
	echo "no terraform on PATH: building OpenTofu $OPENTOFU_VERSION from the Go module proxy (about 3 minutes)" >&2
	ensure_tofu || return 1
	export TF_ACC_TERRAFORM_PATH="$CI_BIN/tofu"
	# The test configurations name no source, so chatwoot_webhook implies
	# <host>/hashicorp/chatwoot, as it does with terraform's defaults.
	export TF_ACC_PROVIDER_HOST=registry.opentofu.org TF_ACC_PROVIDER_NAMESPACE=hashicorp
}

# ensure_tofu builds OpenTofu $OPENTOFU_VERSION into $CI_BIN/tofu once (kept
# between runs on one machine).
ensure_tofu() {
	[ -x "$CI_BIN/tofu" ] && "$CI_BIN/tofu" version 2>/dev/null | grep -q "OpenTofu ${OPENTOFU_VERSION}" && return 0
	(cd / && go mod download "github.com/opentofu/opentofu@$OPENTOFU_VERSION") || return 1
	(cd "$(go env GOMODCACHE)/github.com/opentofu/opentofu@$OPENTOFU_VERSION" &&
		go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$CI_BIN/tofu" ./cmd/tofu)
}

# ensure_terraform_newer builds Terraform $TERRAFORM_NEWER_VERSION into
# $CI_BIN/terraform-<version> once. Its module zip lacks the nested modules
# its go.mod replaces with local paths (remote-state backends other than
# local, remote, cloud, http and inmem, and internal/legacy), so a copy is
# patched to build without them; acceptance tests use none of them.
ensure_terraform_newer() {
	local out="$CI_BIN/terraform-${TERRAFORM_NEWER_VERSION#v}" src tmp
	[ -x "$out" ] && "$out" version 2>/dev/null | grep -q "^Terraform ${TERRAFORM_NEWER_VERSION}$" && return 0
	(cd / && go mod download "github.com/hashicorp/terraform@$TERRAFORM_NEWER_VERSION") || return 1
	src="$(go env GOMODCACHE)/github.com/hashicorp/terraform@$TERRAFORM_NEWER_VERSION"
	tmp=$(mktemp -d)
	cp -r "$src/." "$tmp/" && chmod -R u+w "$tmp" || return 1
	(
		cd "$tmp" || exit 1
		# Drop the replaced nested modules from go.mod: their replace lines and requires.
		mods=$(grep -oE '^replace github.com/hashicorp/terraform/internal/[^ ]+' go.mod | awk '{print $2}')
		for m in $mods; do
			sed -i "\#^replace $m #d; \#^[[:space:]]*$m #d; \#^require $m #d" go.mod
		done
		# And the nine remote-state backends from the backend registry.
		for b in azure consul cos gcs kubernetes oss pg s3 oci; do
			sed -i "\#\"github.com/hashicorp/terraform/internal/backend/remote-state/$b\"#d" internal/backend/init/init.go
		done
		sed -i -E '/"(azurerm|consul|cos|gcs|kubernetes|oss|pg|s3|oci)":[[:space:]]*func/d' internal/backend/init/init.go
		go build -mod=mod -trimpath -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" -o "$out" .
	)
	local rc=$?
	rm -rf "$tmp"
	return $rc
}
