#!/usr/bin/env bash
# The whole flow on loopback: mock Chatwoot API → Terraform creates webhooks
# that go through the relay → Chatwoot (the mock) delivers each event once
# to the relay → the daemon delivers it, signed as Chatwoot signs, with
# retries → receivers verify. Then why: a flaky receiver behind the relay
# gets its event on attempt 3, one Chatwoot delivers to directly loses it.
# Run through `make demo`; needs the binary in $BIN and a terraform (or
# OpenTofu) CLI in $TF_BIN or on PATH. Exits non-zero if a step fails.
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

# free_port picks a loopback port nothing listens on and no other step took,
# below the kernel's ephemeral range: a port from that range can be taken
# as the source port of any outgoing connection (the tests running beside
# the demo make thousands) before the step that listens on it starts.
taken=" "
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % (ephemeral_low - 10000)))
		case $taken in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken="$taken$p "
			echo "$p"
			return
		fi
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

# wait_http URL SECONDS PID: until URL answers 200, while process PID lives.
wait_http() {
	local deadline=$((SECONDS + $2))
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ]; do
		kill -0 "$3" 2>/dev/null || return 1
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# The processes get sessions of their own, so that Ctrl-C reaches only this
# script: teardown still has the mock to destroy the webhooks against.
detach=()
command -v setsid >/dev/null && detach=(setsid)

start() { # start NAME ARGS...: run the binary in the background, logging to $work/NAME.log
	local name=$1
	shift
	"${detach[@]}" "$BIN" "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}

tf() { (cd "$work/tf" && "$TF_BIN" "$@" -no-color); }

post_message() { # post_message CONVERSATION JSON
	curl -sS --fail-with-body -X POST "$MOCK/api/v1/accounts/1/conversations/$1/messages" \
		-H "api_access_token: mock-admin-token" -H "Content-Type: application/json" -d "$2" >"$work/last-message.json" ||
		fail "the mock API refused the message: $(cat "$work/last-message.json")"
}

# mock_delivery WEBHOOK_ID: the mock's last delivery record to that webhook (one JSON object).
mock_delivery() {
	curl -sS "$MOCK/_mock/deliveries" | grep -o '{[^}]*}' | grep "\"webhook_id\":$1," | tail -1
}
field() { # field NAME JSON: a string or number field of a flat JSON object
	printf '%s' "$2" | grep -oE "\"$1\":(\"[^\"]*\"|[0-9.]+)" | head -1 | cut -d: -f2- | tr -d '"'
}

mock_port=$(free_port)
daemon_port=$(free_port)
receiver_port=$(free_port)
audit_port=$(free_port)
flaky_direct_port=$(free_port)
flaky_relayed_port=$(free_port)
MOCK=http://127.0.0.1:$mock_port
DAEMON=http://127.0.0.1:$daemon_port

say "Starting the mock Chatwoot API: it delivers each event to the account's webhooks once, signed, never retried"
# --allow-private-network: this Chatwoot may reach loopback (upstream: SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true).
start mock mock-api --listen "127.0.0.1:$mock_port" --allow-private-network
wait_http "$MOCK/_mock/requests" 10 "${pids[-1]}" || fail "mock-api did not start: $(cat "$work/mock.log")"
info "mock API at $MOCK (token mock-admin-token: administrator of account 1 \"Acme Inc\")"
export CHATWOOT_BASE_URL=$MOCK CHATWOOT_API_ACCESS_TOKEN=mock-admin-token CHECKPOINT_DISABLE=1

say "Starting the delivery daemon: the relay at $DAEMON (SQLite store; receivers on loopback allowed)"
start daemon daemon --listen "127.0.0.1:$daemon_port" --store "sqlite:$work/deliveries.db" \
	--allow-cidr 127.0.0.0/8 --reconcile-interval 30s --retry-schedule 1s,2s,4s
wait_http "$DAEMON/readyz" 15 "${pids[-1]}" || fail "daemon did not become ready: $(cat "$work/daemon.log")"
info "relayed webhooks have the url $DAEMON/v1/accounts/1/relay?to=<destination>"
export CHATWOOT_RELAY_URL=$DAEMON

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
info "What a GitOps reviewer sees in the pull request (url is the destination; chatwoot_url what Chatwoot will hold):"
sed -n '/Terraform will perform/,/Plan:/p; /OpenTofu will perform/,/Plan:/p' "$work/plan.log" | sed 's/^/      | /'

say "terraform apply: two webhooks in account 1, both through the relay"
applied=yes
tf apply -input=false "$work/tf/plan" >"$work/apply.log" 2>&1 || { cat "$work/apply.log"; fail "terraform apply"; }
messages_id=$(tf output -raw messages_webhook_id)
audit_id=$(tf output -raw audit_webhook_id)
info "webhook $messages_id \"Support bot\"        → relay → receiver, subscribed to message_created"
info "webhook $audit_id \"Conversation audit\" → relay → audit receiver, conversation events only"

say "Starting the receivers (each fetches its webhook's secret through the API)"
start receiver receive --listen "127.0.0.1:$receiver_port" --account 1 --webhook-id "$messages_id" --body
start audit receive --listen "127.0.0.1:$audit_port" --account 1 --webhook-id "$audit_id"
wait_for "$work/receiver.log" "receiving Chatwoot webhooks" 1 10 || fail "receiver did not start: $(cat "$work/receiver.log")"
wait_for "$work/audit.log" "receiving Chatwoot webhooks" 1 10 || fail "audit receiver did not start: $(cat "$work/audit.log")"
info "receiver on :$receiver_port, audit receiver on :$audit_port"

say "Creating messages through the mock's Chatwoot API: text, options, form, cards"
post_message 2 '{"content":"Hi, I need help with my order","message_type":"incoming"}'
post_message 2 '{"content":"What is it about?","content_type":"input_select","content_attributes":{"items":[{"title":"Billing","value":"billing"},{"title":"Shipping","value":"shipping"}]}}'
post_message 2 '{"content":"Tell us more","content_type":"form","content_attributes":{"items":[{"name":"email","type":"email","label":"Email","placeholder":"you@example.com"},{"name":"details","type":"text_area","label":"Details","placeholder":"What happened?"}]}}'
post_message 2 '{"content":"You might like","content_type":"cards","content_attributes":{"items":[{"title":"Track an order","description":"See where it is","media_url":"https://example.com/track.png","actions":[{"type":"link","text":"Track","uri":"https://example.com/track"}]}]}}'
info "4 messages posted to conversation 2; Chatwoot fires message_created for each and delivers it to the relay"

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

say "terraform apply adds two consumers that fail their first two attempts: one direct, one through the relay"
export TF_VAR_flaky_direct_url=http://127.0.0.1:$flaky_direct_port/flaky TF_VAR_flaky_relayed_url=http://127.0.0.1:$flaky_relayed_port/flaky
tf apply -input=false -auto-approve >"$work/apply2.log" 2>&1 || { cat "$work/apply2.log"; fail "second terraform apply"; }
grep -E '^Plan:|will be created' "$work/apply2.log" | sed 's/^/      | /' || true
direct_id=$(tf output -raw flaky_direct_webhook_id)
relayed_id=$(tf output -raw flaky_relayed_webhook_id)
start flaky_direct receive --listen "127.0.0.1:$flaky_direct_port" --account 1 --webhook-id "$direct_id" --fail-first 2
start flaky_relayed receive --listen "127.0.0.1:$flaky_relayed_port" --account 1 --webhook-id "$relayed_id" --fail-first 2
wait_for "$work/flaky_direct.log" "receiving Chatwoot webhooks" 1 10 || fail "flaky direct receiver did not start"
wait_for "$work/flaky_relayed.log" "receiving Chatwoot webhooks" 1 10 || fail "flaky relayed receiver did not start"
info "webhook $direct_id \"Flaky consumer, direct\"  → Chatwoot delivers to it itself"
info "webhook $relayed_id \"Flaky consumer, relayed\" → the relay (its first event is found with a fresh list: no wait for a reconcile)"

say "One message: the direct consumer gets Chatwoot's single attempt; the relayed one gets it on attempt 3"
post_message 2 '{"content":"Is anyone there?","message_type":"incoming"}'
wait_for "$work/flaky_relayed.log" "signature verified" 3 30 || { cat "$work/flaky_relayed.log" "$work/daemon.log"; fail "the relayed consumer did not get its delivery after retries"; }
wait_for "$work/flaky_direct.log" "signature verified" 1 10 || fail "Chatwoot's direct attempt did not arrive"
sleep 2 # long enough for a retry, had Chatwoot made one
direct_rec=$(mock_delivery "$direct_id")
relayed_rec=$(mock_delivery "$relayed_id")
info "direct, as Chatwoot delivered it:"
grep -E "^(FAILING|OK)" "$work/flaky_direct.log" | sed 's/^/        /'
info "  Chatwoot recorded $(field status "$direct_rec") for delivery $(field delivery_id "$direct_rec") and does not retry: the event is lost"
info "through the relay:"
grep -E "^(FAILING|OK)" "$work/flaky_relayed.log" | sed 's/^/        /'
chatwoot_id=$(field delivery_id "$relayed_rec")
info "  Chatwoot delivered to the relay once (answered $(field status "$relayed_rec")) under X-Chatwoot-Delivery $chatwoot_id"
[ "$(grep -c '^FAILING' "$work/flaky_direct.log")" -eq 1 ] && ! grep -q '^OK' "$work/flaky_direct.log" ||
	fail "the direct consumer should have had exactly one failed attempt"
[ "$(field status "$relayed_rec")" = 200 ] || fail "the relay did not answer Chatwoot 200: $relayed_rec"
ids=$(grep -oE 'delivery=[0-9a-f-]+' "$work/flaky_relayed.log" | sort -u)
[ "$ids" = "delivery=$chatwoot_id" ] || fail "the relayed attempts carried $ids, not Chatwoot's delivery id $chatwoot_id"
wait_for "$work/receiver.log" "signature verified" 5 15 || fail "the receiver did not get the fifth message"

say "Summary"
info "webhooks created by terraform: 4 (apply, then a GitOps-style change); 3 through the relay"
info "messages posted: 5; verified deliveries at the receiver: $(grep -c 'signature verified' "$work/receiver.log")"
info "audit receiver deliveries: 0 (not subscribed)"
info "direct consumer: 1 failed attempt by Chatwoot, event lost"
info "relayed consumer: $(grep -c '^FAILING' "$work/flaky_relayed.log") failed attempts, then delivered under Chatwoot's delivery id"
info "everything ran on loopback; tearing down"
echo
echo "DEMO OK"
