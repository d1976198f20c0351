#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests and benchmarks: a new cluster in a
# temporary directory, listening on 127.0.0.1 on a free port, with a
# database and a password user. Nothing outside that directory is touched.
#
#   .ci/postgres.sh start        start one; prints `export CHATWOOT_TEST_POSTGRES_URL=...`
#                                (so: eval "$(.ci/postgres.sh start)")
#   .ci/postgres.sh stop [DIR]   stop it and delete its directory
#   .ci/postgres.sh run CMD...   run CMD with CHATWOOT_TEST_POSTGRES_URL set: when the
#                                variable is already set it is used as is, otherwise a
#                                server is started for CMD and stopped afterwards, even
#                                when CMD fails; exits with CMD's status
#
# Server programs: PostgreSQL's initdb, pg_ctl and postgres from Debian's
# folder (/usr/lib/postgresql/VERSION/bin, the newest), else from PATH; when
# there are none, Debian's `postgresql` package is installed (root only).
# initdb refuses to run as root: as root, the server runs as the `postgres`
# user, which owns the cluster's directory.
set -euo pipefail

ENV_VAR=CHATWOOT_TEST_POSTGRES_URL
# As root the cluster belongs to the postgres user, who must reach it: /tmp
# rather than a $TMPDIR that may sit in root's home.
if [ "$(id -u)" = 0 ]; then BASE=/tmp; else BASE=${TMPDIR:-/tmp}; fi
STATE=${CHATWOOT_TEST_POSTGRES_STATE:-$BASE/chatwoot-test-postgres.dir}

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

find_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

ensure_bin() {
	local bin
	if bin=$(find_bin); then echo "$bin"; return 0; fi
	[ "$(id -u)" = 0 ] || die "no PostgreSQL server programs (initdb, pg_ctl) found; install Debian's postgresql package (sudo apt-get install postgresql) or put them on PATH"
	say "no PostgreSQL server programs found: installing Debian's postgresql package"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || die "apt-get update failed"
	apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
	bin=$(find_bin) || die "postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql"
	echo "$bin"
}

# as_owner runs a server program as the owner of the cluster's directory.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start DIR: creates and starts a cluster in DIR, writes DIR/url.
start_in() {
	local dir=$1 bin user=chatwoot db=chatwoot_test pw port try
	bin=$(ensure_bin)
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to run the server as (it comes with Debian's postgresql package)"
		chown postgres: "$dir"
	fi
	chmod 700 "$dir"
	pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$pw" >"$dir/pwfile"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
	as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/pwfile" \
			--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	rm -f "$dir/pwfile"
	# Room for several daemon replicas (each up to its pool size) and the
	# tests' own connections; durability settings stay PostgreSQL's defaults
	# so that benchmarks measure a real commit.
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		max_connections = 200
		shared_buffers = 256MB
		log_min_messages = warning
	EOF
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 40000))
		port_free "$port" || continue
		if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null; then
			break
		fi
		port=""
		grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null || { cat "$dir/server.log" >&2; die "pg_ctl start failed"; }
	done
	[ -n "$port" ] || die "no free port found for PostgreSQL"
	echo "$bin" >"$dir/bin"
	as_owner "$bin/psql" -h "$dir" -p "$port" -U "$user" -d postgres -q -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE $db" >/dev/null || die "CREATE DATABASE failed"
	printf 'postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable\n' "$user" "$pw" "$port" "$db" >"$dir/url"
	say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir/data"
}

stop_in() {
	local dir=$1 bin
	[ -d "$dir" ] || return 0
	if [ -f "$dir/bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
		bin=$(cat "$dir/bin")
		as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

new_dir() { mktemp -d "$BASE/chatwoot-pg.XXXXXX"; }

case "${1:-}" in
start)
	dir=$(new_dir)
	start_in "$dir" || { stop_in "$dir"; exit 1; }
	echo "$dir" >"$STATE"
	printf "export %s='%s'\n" "$ENV_VAR" "$(cat "$dir/url")"
	say "stop it with: .ci/postgres.sh stop"
	;;
stop)
	dir=${2:-}
	if [ -z "$dir" ] && [ -f "$STATE" ]; then dir=$(cat "$STATE"); rm -f "$STATE"; fi
	[ -n "$dir" ] || die "nothing to stop: no $STATE (give the directory: .ci/postgres.sh stop DIR)"
	case "$dir" in "$BASE"/chatwoot-pg.*) ;; *) die "refusing to remove $dir: not a directory this script made" ;; esac
	stop_in "$dir"
	say "stopped; removed $dir"
	;;
run)
	shift
	[ $# -gt 0 ] || die "usage: .ci/postgres.sh run CMD..."
	if [ -n "${!ENV_VAR:-}" ]; then exec "$@"; fi
	dir=$(new_dir)
	trap 'stop_in "$dir"' EXIT
	trap 'exit 130' INT TERM
	start_in "$dir"
	export "$ENV_VAR=$(cat "$dir/url")"
	status=0
	"$@" || status=$?
	exit "$status"
	;;
*)
	die "usage: .ci/postgres.sh start | stop [DIR] | run CMD..."
	;;
esac
