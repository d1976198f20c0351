#!/usr/bin/env bash
# The whole flow on loopback: mock Chatwoot API → Terraform creates webhooks
# → the daemon delivers message_created, signed, with retries → receivers
# verify. Run through `make demo`; needs the binary in $BIN and a terraform
# (or OpenTofu) CLI in $TF_BIN or on PATH. Exits non-zero if a step fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../../terraform-provider-chatwoot}
[ -x "$BIN" ] || { echo "demo: no binary at $BIN; run 'make demo' (it builds one)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
TF_BIN=${TF_BIN:-$(command -v terraform || command -v tofu || true)}
if [ -z "$TF_BIN" ]; then
	cat >&2 <<'MSG'
demo: no terraform CLI found. Install Terraform 1.11+ (https://developer.hashicorp.com/terraform/install)
or OpenTofu, or let the repository build OpenTofu from the Go module proxy (about 3 minutes):
    . .ci/env.sh && ensure_terraform && TF_BIN=$TF_ACC_TERRAFORM_PATH make demo
MSG
	exit 1
fi
command -v curl >/dev/null || { echo "demo: curl is needed to post messages to the mock API" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/chatwoot-demo.XXXXXX")
pids=()
applied=no
step_no=0
steps=10

say() { printf '\n[%d/%d] %s\n' "$((++step_no))" "$steps" "$*"; }
info() { printf '      %s\n' "$*"; }
fail() { printf '\nDEMO FAILED at step %d: %s\n' "$step_no" "$*" >&2; exit 1; }

teardown() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ "$applied" = yes ]; then
		printf '\n[teardown] terraform destroy\n'
		tf destroy -auto-approve -input=false >"$work/destroy.log" 2>&1 || { cat "$work/destroy.log"; rc=1; }
	fi
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
	rm -rf "$work"
	printf '[teardown] processes stopped, %s removed\n' "$work"
	exit "$rc"
}
trap teardown EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

# free_port picks a loopback port nothing listens on.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	fail "no free port found"
}

# wait_for FILE PATTERN COUNT SECONDS: until FILE has COUNT lines matching PATTERN.
wait_for() {
	local deadline=$((SECONDS + $4))
	while [ "$(grep -c -- "$2" "$1" 2>/dev/null || true)" -lt "$3" ]; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

start() { # start NAME ARGS...: run the binary in the background, logging to $work/NAME.log
	local name=$1
	shift
	"$BIN" "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}

tf() { (cd "$work/tf" && "$TF_BIN" "$@" -no-color); }

post_message() { # post_message CONVERSATION JSON
	curl -sS --fail-with-body -X POST "$MOCK/api/v1/accounts/1/conversations/$1/messages" \
		-H "api_access_token: mock-admin-token" -H "Content-Type: application/json" -d "$2" >"$work/last-message.json" ||
		fail "the mock API refused the message: $(cat "$work/last-message.json")"
}

daemon_port=$(free_port)
receiver_port=$(free_port)
audit_port=$(free_port)
flaky_port=$(free_port)
DAEMON=http://127.0.0.1:$daemon_port

say "Starting the mock Chatwoot API, wired to the daemon at $DAEMON"
start mock mock-api --listen 127.0.0.1:0 --daemon-url "$DAEMON"
wait_for "$work/mock.log" "listening on http://" 1 10 || fail "mock-api did not start: $(cat "$work/mock.log")"
MOCK=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/mock.log" | head -1)
info "mock API at $MOCK (token mock-admin-token: administrator of account 1 \"Acme Inc\")"
export CHATWOOT_BASE_URL=$MOCK CHATWOOT_API_ACCESS_TOKEN=mock-admin-token CHECKPOINT_DISABLE=1

say "terraform plan of examples/demo (dev_overrides → this build, so no terraform init)"
mkdir -p "$work/tf"
cp "$here/main.tf" "$work/tf/"
cat >"$work/dev.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "chatwoot-tf/chatwoot" = "$(dirname "$BIN")"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE=$work/dev.tfrc TF_IN_AUTOMATION=1
export TF_VAR_receiver_url=http://127.0.0.1:$receiver_port/chatwoot TF_VAR_audit_url=http://127.0.0.1:$audit_port/audit
# The override names the directory; terraform runs terraform-provider-chatwoot in it.
[ "$(basename "$BIN")" = terraform-provider-chatwoot ] || fail "the binary must be named terraform-provider-chatwoot for dev_overrides"
tf plan -input=false -out="$work/tf/plan" >"$work/plan.log" 2>&1 || { cat "$work/plan.log"; fail "terraform plan"; }
info "What a GitOps reviewer sees in the pull request:"
sed -n '/Terraform will perform/,/Plan:/p; /OpenTofu will perform/,/Plan:/p' "$work/plan.log" | sed 's/^/      | /'

say "terraform apply: two webhooks in account 1"
applied=yes
tf apply -input=false "$work/tf/plan" >"$work/apply.log" 2>&1 || { cat "$work/apply.log"; fail "terraform apply"; }
messages_id=$(tf output -raw messages_webhook_id)
audit_id=$(tf output -raw audit_webhook_id)
info "webhook $messages_id \"Support bot\"        → receiver, subscribed to message_created"
info "webhook $audit_id \"Conversation audit\" → audit receiver, conversation events only"

say "Starting the receivers (each fetches its webhook's secret through the API)"
start receiver receive --listen "127.0.0.1:$receiver_port" --account 1 --webhook-id "$messages_id" --body
start audit receive --listen "127.0.0.1:$audit_port" --account 1 --webhook-id "$audit_id"
wait_for "$work/receiver.log" "receiving Chatwoot webhooks" 1 10 || fail "receiver did not start: $(cat "$work/receiver.log")"
wait_for "$work/audit.log" "receiving Chatwoot webhooks" 1 10 || fail "audit receiver did not start: $(cat "$work/audit.log")"
info "receiver on :$receiver_port, audit receiver on :$audit_port"

say "Starting the delivery daemon (SQLite store, loopback allowed)"
start daemon daemon --listen "127.0.0.1:$daemon_port" --store "sqlite:$work/deliveries.db" \
	--allow-cidr 127.0.0.0/8 --reconcile-interval 1s --retry-schedule 1s,2s,4s
wait_for "$work/daemon.log" "ready" 1 15 || fail "daemon did not become ready: $(cat "$work/daemon.log")"
info "$(grep -m1 'ready' "$work/daemon.log" | sed 's/^[^ ]* //')"

say "Creating messages through the mock's Chatwoot API: text, options, form, cards"
post_message 2 '{"content":"Hi, I need help with my order","message_type":"incoming"}'
post_message 2 '{"content":"What is it about?","content_type":"input_select","content_attributes":{"items":[{"title":"Billing","value":"billing"},{"title":"Shipping","value":"shipping"}]}}'
post_message 2 '{"content":"Tell us more","content_type":"form","content_attributes":{"items":[{"name":"email","type":"email","label":"Email","placeholder":"you@example.com"},{"name":"details","type":"text_area","label":"Details","placeholder":"What happened?"}]}}'
post_message 2 '{"content":"You might like","content_type":"cards","content_attributes":{"items":[{"title":"Track an order","description":"See where it is","media_url":"https://example.com/track.png","actions":[{"type":"link","text":"Track","uri":"https://example.com/track"}]}]}}'
info "4 messages posted to conversation 2; Chatwoot fires message_created for each"

say "Deliveries arriving at the receiver"
wait_for "$work/receiver.log" "signature verified" 4 30 || { cat "$work/receiver.log" "$work/daemon.log"; fail "4 verified deliveries did not arrive in 30s"; }
grep "signature verified" "$work/receiver.log" | sed 's/^/      /'
info "The input_select payload as the receiver got it (upstream's message_created shape, first 400 bytes):"
awk '/^OK .*content_type=input_select/{getline; print; exit}' "$work/receiver.log" | sed 's/^ *//' | cut -c1-400 | fold -w 100 | sed 's/^/      | /'
for ct in text input_select form cards; do
	grep -q "content_type=$ct" "$work/receiver.log" || fail "no $ct message at the receiver"
done
sleep 1
if grep -qE "^(OK|FAILING|REJECTED)" "$work/audit.log"; then
	cat "$work/audit.log"
	fail "the audit endpoint, not subscribed to message_created, received a delivery"
fi
info "audit receiver (not subscribed to message_created): 0 deliveries, as it should be"

say "terraform apply adds a flaky endpoint that fails twice before it succeeds"
start flaky receive --listen "127.0.0.1:$flaky_port" --secret pending-apply --fail-first 2
export TF_VAR_flaky_url=http://127.0.0.1:$flaky_port/flaky
tf apply -input=false -auto-approve >"$work/apply2.log" 2>&1 || { cat "$work/apply2.log"; fail "second terraform apply"; }
grep -E '^Plan:|chatwoot_webhook.flaky\[0\] will be created' "$work/apply2.log" | sed 's/^/      | /' || true
flaky_id=$(tf output -raw flaky_webhook_id)
# Restart the flaky receiver with the secret Terraform just got.
kill "${pids[-1]}" && wait "${pids[-1]}" 2>/dev/null || true
start flaky receive --listen "127.0.0.1:$flaky_port" --account 1 --webhook-id "$flaky_id" --fail-first 2
wait_for "$work/flaky.log" "receiving Chatwoot webhooks" 1 10 || fail "flaky receiver did not start"
sleep 2 # one reconcile interval, so the daemon knows the new endpoint
info "webhook $flaky_id \"Flaky consumer\" created; the daemon picks it up at its next reconcile"

say "A delivery to the flaky endpoint: 500, 500, then 200 under one delivery id"
post_message 2 '{"content":"Is anyone there?","message_type":"incoming"}'
wait_for "$work/flaky.log" "signature verified" 3 30 || { cat "$work/flaky.log"; fail "the flaky endpoint did not get its delivery after retries"; }
grep -E "^(FAILING|OK)" "$work/flaky.log" | sed 's/^/      /'
ids=$(grep -oE 'delivery=[0-9a-f-]+' "$work/flaky.log" | sort -u | wc -l)
[ "$ids" -eq 1 ] || fail "expected one delivery id across the retries, saw $ids"
wait_for "$work/receiver.log" "signature verified" 5 15 || fail "the receiver did not get the fifth message"

say "Summary"
info "webhooks created by terraform: 3 (apply, then a GitOps-style change)"
info "messages posted: 5; verified deliveries at the receiver: $(grep -c 'signature verified' "$work/receiver.log")"
info "audit receiver deliveries: 0 (not subscribed)"
info "flaky endpoint: $(grep -c '^FAILING' "$work/flaky.log") failed attempts, then delivered (same delivery id)"
info "everything ran on loopback; tearing down"
echo
echo "DEMO OK"
