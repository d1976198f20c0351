#!/usr/bin/env bash
# Installs this build where `terraform init` and `tofu init` find it without
# a registry: the implied local filesystem mirror, ~/.terraform.d/plugins
# (or $1), under both registry hosts. Usage: .ci/install-mirror.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/env.sh
dir=${1:-$HOME/.terraform.d/plugins}
version=${VERSION:-0.1.0}
platform="$(go env GOOS)_$(go env GOARCH)"
for host in registry.terraform.io registry.opentofu.org; do
	dest="$dir/$host/chatwoot-tf/chatwoot/$version/$platform"
	mkdir -p "$dest"
	CGO_ENABLED=0 go build -ldflags "-X github.com/chatwoot-tf/terraform-provider-chatwoot/internal/version.Version=$version" \
		-o "$dest/terraform-provider-chatwoot_v$version" .
	echo "installed $dest/terraform-provider-chatwoot_v$version"
done
