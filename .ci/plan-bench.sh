#!/usr/bin/env bash
# Plan of 300 webhooks against the mock, next to hashicorp/time's
# time_static × 300 on the same machine and CLI: the median of ROUNDS plans
# each (refresh included), their ratio, and the requests each plan made
# (one profile, one list). `make bench-plan` (TF_BIN=path for another CLI,
# e.g. OpenTofu); figures go to docs/guides/provider-performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/env.sh
ensure_terraform
TF=${TF_BIN:-$TF_ACC_TERRAFORM_PATH}
ROUNDS=${ROUNDS:-7}
COUNT=${COUNT:-300}
TIME_VERSION=v0.14.2

work=$(mktemp -d)
trap 'kill $(cat "$work/mock.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/time-bin" "$work/cw" "$work/time"
go build -o "$work/bin/terraform-provider-chatwoot" .
GOBIN="$work/time-bin" go install "github.com/hashicorp/terraform-provider-time@$TIME_VERSION"
cat >"$work/tf.rc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/chatwoot-tf/chatwoot" = "$work/bin"
    "registry.terraform.io/hashicorp/time" = "$work/time-bin"
    "registry.opentofu.org/chatwoot-tf/chatwoot" = "$work/bin"
    "registry.opentofu.org/hashicorp/time" = "$work/time-bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/tf.rc"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/bin/terraform-provider-chatwoot" mock-api --listen "127.0.0.1:$port" --log-level error >"$work/mock.log" 2>&1 &
echo $! >"$work/mock.pid"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/_mock/requests" >/dev/null && break; sleep 0.1; done
cat >"$work/cw/main.tf" <<TF
terraform {
  required_providers {
    chatwoot = { source = "chatwoot-tf/chatwoot" }
  }
}
provider "chatwoot" {
  base_url         = "http://127.0.0.1:$port"
  api_access_token = "mock-admin-token"
}
resource "chatwoot_webhook" "w" {
  count      = $COUNT
  account_id = 1
  url        = "https://hooks.example/w/\${count.index}"
}
TF
cat >"$work/time/main.tf" <<TF
terraform {
  required_providers {
    time = { source = "hashicorp/time" }
  }
}
resource "time_static" "t" {
  count = $COUNT
}
TF
for d in cw time; do (cd "$work/$d" && "$TF" apply -auto-approve >/dev/null); done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med
for d in cw time; do
	for _ in $(seq "$ROUNDS"); do
		s=$(date +%s%N)
		(cd "$work/$d" && "$TF" plan -detailed-exitcode >/dev/null) || { echo "$d: the plan is not empty" >&2; exit 1; }
		echo $((($(date +%s%N) - s) / 1000000))
	done | median >"$work/$d.ms"
	med[$d]=$(cat "$work/$d.ms")
done
curl -fs -X DELETE "http://127.0.0.1:$port/_mock/requests"
(cd "$work/cw" && "$TF" plan >/dev/null)
requests=$(curl -fs "http://127.0.0.1:$port/_mock/requests" | python3 -c 'import json,sys,collections; print(dict(collections.Counter(r["method"]+" "+r["path"] for r in json.load(sys.stdin))))')
echo "$("$TF" version | head -1), $(nproc) CPUs, $COUNT resources, median of $ROUNDS plans"
echo "chatwoot_webhook: ${med[cw]} ms; time_static: ${med[time]} ms; ratio $(awk "BEGIN {printf \"%.2f\", ${med[cw]}/${med[time]}}")"
echo "requests of one plan: $requests"
