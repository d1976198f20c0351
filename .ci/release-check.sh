#!/usr/bin/env bash
# `make release-check`: goreleaser's own config check when goreleaser can be
# installed from the Go module proxy, and in any case a CGO_ENABLED=0 cross
# build of every target .goreleaser.yml builds: freebsd/linux/darwin/windows
# × amd64/arm64.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/env.sh
GORELEASER_VERSION=v2.15.1
if command -v goreleaser >/dev/null 2>&1 || go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"; then
	goreleaser check
else
	echo "goreleaser $GORELEASER_VERSION could not be installed; checking with a plain cross build only" >&2
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for os in freebsd linux darwin windows; do
	for arch in amd64 arm64; do
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -o "$out/terraform-provider-chatwoot_${os}_${arch}" .
		echo "ok  $os/$arch  $(du -h "$out/terraform-provider-chatwoot_${os}_${arch}" | cut -f1)"
	done
done
