#!/usr/bin/env bash
# The provider's whole acceptance suite on each CLI it supports beyond the
# one on PATH (which `make test` runs): Terraform 1.13.3 and OpenTofu
# 1.12.6, built once from the Go module proxy and kept in $CI_BIN. A test
# that skips itself for want of a newer CLI must not skip on these: any
# SKIP fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/env.sh

run_suite() { # run_suite NAME CLI [ENV...]
	local name=$1 cli=$2 log start
	shift 2
	log=$(mktemp)
	start=$SECONDS
	printf '\n=== acceptance tests on %s (%s)\n' "$name" "$("$cli" version | head -1)"
	if ! env TF_ACC=1 TF_ACC_TERRAFORM_PATH="$cli" "$@" go test -count=1 -timeout 30m -v ./provider/... 2>&1 | tee "$log"; then
		echo "acceptance tests failed on $name" >&2
		return 1
	fi
	if grep -E -- '--- SKIP' "$log"; then
		echo "acceptance tests skipped on $name, which supports every feature they test" >&2
		return 1
	fi
	printf '=== %s: %d tests passed in %ds\n' "$name" "$(grep -cE -- '--- PASS' "$log")" $((SECONDS - start))
	rm -f "$log"
}

echo "building Terraform $TERRAFORM_NEWER_VERSION and OpenTofu $OPENTOFU_VERSION when not built yet (about 3 minutes each)"
ensure_terraform_newer
ensure_tofu
run_suite "Terraform ${TERRAFORM_NEWER_VERSION#v}" "$CI_BIN/terraform-${TERRAFORM_NEWER_VERSION#v}"
run_suite "OpenTofu ${OPENTOFU_VERSION#v}" "$CI_BIN/tofu" TF_ACC_PROVIDER_HOST=registry.opentofu.org TF_ACC_PROVIDER_NAMESPACE=hashicorp
