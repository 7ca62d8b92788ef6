#!/usr/bin/env bash
# Find or start a PostgreSQL server for development, tests and CI.
#
#   .ci/postgres.sh url [DBNAME]   print a superuser libpq URL (DBNAME defaults to dvresponse)
#   .ci/postgres.sh stop           stop the private cluster, if this script started one
#   .ci/postgres.sh status         exit 0 if the private cluster is running
#   .ci/postgres.sh destroy        stop the private cluster and delete its data
#
# Only the URL goes to stdout; every diagnostic goes to stderr, so callers can
# write DATABASE_URL=$(.ci/postgres.sh url).
#
# Discovery order for `url`:
#   a. $DATABASE_URL, if set: checked, then printed unchanged (no database is created).
#   b. A server on 127.0.0.1:5432 that lets user postgres in without a password.
#   c. A private cluster in <repo>/.pgdata on 127.0.0.1:$PGPORT_PRIVATE (default 55432),
#      created and started on demand (installing PostgreSQL with apt-get when root).
set -euo pipefail

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { printf 'postgres.sh: error: %s\n' "$*" >&2; exit 1; }

# The repository root is the directory holding the Makefile, one level above this script.
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)

SYSTEM_HOST=127.0.0.1
SYSTEM_PORT=5432
PRIVATE_PORT=${PGPORT_PRIVATE:-55432}
# Seconds to wait for a server to answer.
WAIT_SECS=${PG_WAIT_SECS:-60}

# Short connect timeout so a dead address fails fast instead of hanging.
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}

IS_ROOT=0
[[ $(id -u) == 0 ]] && IS_ROOT=1

# ---------------------------------------------------------------------------
# Tool discovery

# Newest /usr/lib/postgresql/<version>/bin directory, if any.
newest_pg_bindir() {
	local d
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1 || true)
	[[ -n $d && -d $d ]] && printf '%s\n' "$d"
}

# Path of a PostgreSQL client/server program: PATH first, then the newest versioned bin dir.
find_pg_tool() {
	local name=$1 p d
	if p=$(command -v "$name" 2>/dev/null); then
		printf '%s\n' "$p"
		return 0
	fi
	d=$(newest_pg_bindir) || return 1
	[[ -x $d/$name ]] || return 1
	printf '%s\n' "$d/$name"
}

# psql, resolved once by need_psql (it may only appear after installing PostgreSQL).
PSQL=
need_psql() {
	[[ -n $PSQL ]] && return 0
	PSQL=$(find_pg_tool psql) || die "psql not found (install postgresql-client)"
}

# ---------------------------------------------------------------------------
# Connection helpers

# url_for HOST PORT DB
url_for() { printf 'postgres://postgres@%s:%s/%s?sslmode=disable' "$1" "$2" "$3"; }

# Run one SQL statement against a connection URL; prints unaligned tuples.
# -X: ignore ~/.psqlrc; -w: never prompt for a password (there is no stdin in CI).
sql() {
	local url=$1 query=$2
	need_psql
	"$PSQL" -X -w -q -At -v ON_ERROR_STOP=1 -d "$url" -c "$query"
}

# Wait until HOST:PORT accepts connections (pg_isready exit 0), up to WAIT_SECS.
wait_ready() {
	local host=$1 port=$2 isready i
	isready=$(find_pg_tool pg_isready) || return 0 # no pg_isready: the psql check below decides
	for ((i = 0; i < WAIT_SECS * 2; i++)); do
		"$isready" -q -h "$host" -p "$port" -U postgres -d postgres -t 2 && return 0
		sleep 0.5
	done
	return 1
}

# Create database $2 on the server whose maintenance URL is $1, unless it exists.
ensure_database() {
	local admin_url=$1 db=$2
	if [[ $(sql "$admin_url" "select 1 from pg_database where datname = '$db'") == 1 ]]; then
		return 0
	fi
	log "creating database $db"
	if ! sql "$admin_url" "create database \"$db\"" >/dev/null 2>&1; then
		# Another process may have created it at the same moment: only a missing database is an error.
		[[ $(sql "$admin_url" "select 1 from pg_database where datname = '$db'") == 1 ]] ||
			die "could not create database $db (see: psql -d '$admin_url' -c 'create database \"$db\"')"
	fi
}

# ---------------------------------------------------------------------------
# Running things as the postgres OS user (initdb and postgres refuse to run as root)

as_pg() {
	if ((IS_ROOT)); then
		# cd / so the postgres user is never left in a directory it cannot read (e.g. /root).
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u postgres -- "$@")
		else
			(cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
		fi
	else
		"$@"
	fi
}

# ---------------------------------------------------------------------------
# Private cluster layout
#
#   $BASE/data          the cluster (PGDATA)
#   $BASE/run           unix socket directory
#   $BASE/postgres.log  server log
#
# BASE is <repo>/.pgdata, except when running as root and the postgres user
# cannot traverse the path to the repository (e.g. a repo under /root): then
# it is /tmp/dvresponse-pg-<hash of repo path>. The choice is a pure function
# of the repo path, so `stop` finds the cluster that `url` started.

repo_base() { printf '%s/.pgdata\n' "$REPO_ROOT"; }
tmp_base() {
	local h
	h=$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)
	printf '/tmp/dvresponse-pg-%s\n' "$h"
}

choose_base() {
	if ((IS_ROOT)) && ! as_pg test -x "$REPO_ROOT" 2>/dev/null; then
		log "user postgres cannot traverse $REPO_ROOT; keeping the private cluster in $(tmp_base) instead of $(repo_base)"
		tmp_base
	else
		repo_base
	fi
}

# pg_ctl matching the cluster's version when it exists, else the newest available.
find_pg_ctl() {
	local data=$1 ver
	if [[ -f $data/PG_VERSION ]]; then
		ver=$(<"$data/PG_VERSION")
		if [[ -x /usr/lib/postgresql/$ver/bin/pg_ctl ]]; then
			printf '%s\n' "/usr/lib/postgresql/$ver/bin/pg_ctl"
			return 0
		fi
	fi
	find_pg_tool pg_ctl
}

# Is the cluster in $1 (a BASE dir) running? Exit 0 if so.
cluster_running() {
	local base=$1 pgctl
	[[ -f $base/data/PG_VERSION ]] || return 1
	pgctl=$(find_pg_ctl "$base/data") || return 1
	as_pg "$pgctl" status -D "$base/data" >/dev/null 2>&1
}

# Port the running cluster listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "$1/data/postmaster.pid" 2>/dev/null; }

# Install PostgreSQL from Debian's packages (root only).
install_postgresql() {
	((IS_ROOT)) || die "initdb/pg_ctl not found and not running as root: install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL"
	command -v apt-get >/dev/null 2>&1 || die "initdb/pg_ctl not found and apt-get is unavailable: install PostgreSQL or set DATABASE_URL"
	log "initdb/pg_ctl not found; installing postgresql with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2 || die "apt-get update failed"
	apt-get install -y postgresql >&2 || die "apt-get install postgresql failed"
}

# Echo "INITDB PG_CTL", installing PostgreSQL if needed.
server_tools() {
	local initdb pgctl
	if ! initdb=$(find_pg_tool initdb) || ! pgctl=$(find_pg_tool pg_ctl); then
		install_postgresql
		# Debian keeps the server programs off PATH, under /usr/lib/postgresql/<version>/bin.
		local d
		d=$(newest_pg_bindir) || die "postgresql installed but /usr/lib/postgresql/*/bin not found"
		initdb=$d/initdb pgctl=$d/pg_ctl
		[[ -x $initdb && -x $pgctl ]] || die "initdb/pg_ctl missing in $d after installing postgresql"
	fi
	printf '%s %s\n' "$initdb" "$pgctl"
}

# Settings rewritten at every start, so a moved repo or a new PGPORT_PRIVATE take effect.
write_local_conf() {
	local base=$1
	local sockdir=$base/run sock_setting
	# A unix socket path must fit in 107 bytes; we connect over TCP anyway, so drop it if too long.
	if ((${#sockdir} + 16 > 100)); then
		log "socket path under $sockdir is too long for a unix socket; listening on TCP only"
		sock_setting=''
	else
		sock_setting=$sockdir
	fi
	as_pg tee "$base/data/dvresponse.conf" >/dev/null <<EOF
# Written by .ci/postgres.sh at each start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PRIVATE_PORT
unix_socket_directories = '$sock_setting'
# A disposable dev/test cluster: trade crash safety for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start_private() {
	local base data tools initdb pgctl port
	base=$(choose_base)
	data=$base/data

	# One `url` at a time may create or start the cluster (make -j, parallel shells).
	mkdir -p "$base"
	((IS_ROOT)) && chown postgres: "$base"
	exec 9>>"$base/.lock"
	flock -w 120 9 || die "timed out waiting for the lock on $base/.lock"

	if cluster_running "$base"; then
		port=$(running_port "$base")
		if [[ -n $port && $port != "$PRIVATE_PORT" ]]; then
			log "private cluster in $base is already running on port $port (not $PRIVATE_PORT); using it"
			PRIVATE_PORT=$port
		fi
		log "using the running private cluster in $base (127.0.0.1:$PRIVATE_PORT)"
	else
		tools=$(server_tools)
		read -r initdb pgctl <<<"$tools"
		if ((IS_ROOT)); then
			id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user to run the server as"
			chown -R postgres: "$base"
			as_pg test -w "$base" || die "user postgres cannot write to $base"
		fi
		mkdir -p "$base/run"
		((IS_ROOT)) && chown postgres: "$base/run"

		if [[ ! -f $data/PG_VERSION ]]; then
			log "creating a private cluster in $data"
			# Match the machine's cluster: UTF-8 with C.UTF-8 (Unicode-aware lower()/ILIKE) when available.
			local locale_args=(--no-locale)
			if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
				locale_args=(--locale=C.UTF-8)
			fi
			# initdb is chatty: keep its output in a file and show it only if it fails.
			if ! as_pg "$initdb" -D "$data" -U postgres -A trust -E UTF8 "${locale_args[@]}" >"$base/initdb.log" 2>&1; then
				cat "$base/initdb.log" >&2
				die "initdb failed for $data"
			fi
			printf "\ninclude_if_exists = 'dvresponse.conf'\n" | as_pg tee -a "$data/postgresql.conf" >/dev/null
		else
			# A cluster made by another version must be started by that version's pg_ctl.
			pgctl=$(find_pg_ctl "$data")
		fi
		write_local_conf "$base"

		log "starting the private cluster in $data on 127.0.0.1:$PRIVATE_PORT (log: $base/postgres.log)"
		if ! as_pg "$pgctl" start -D "$data" -l "$base/postgres.log" -w -t "$WAIT_SECS" >&2; then
			tail -n 20 "$base/postgres.log" >&2 2>/dev/null || true
			die "the private cluster did not start; see $base/postgres.log"
		fi
	fi

	wait_ready 127.0.0.1 "$PRIVATE_PORT" || die "the private cluster on 127.0.0.1:$PRIVATE_PORT does not answer; see $base/postgres.log"
	flock -u 9
}

stop_private() {
	local base found=0 pgctl
	for base in "$(repo_base)" "$(tmp_base)"; do
		[[ -f $base/data/PG_VERSION ]] || continue
		if cluster_running "$base"; then
			found=1
			pgctl=$(find_pg_ctl "$base/data") || die "pg_ctl not found"
			log "stopping the private cluster in $base/data"
			as_pg "$pgctl" stop -D "$base/data" -m fast -w -t "$WAIT_SECS" >&2 || die "pg_ctl stop failed for $base/data"
		fi
	done
	((found)) || log "no private cluster is running"
}

# ---------------------------------------------------------------------------
# Subcommands

cmd_url() {
	local db=${1:-dvresponse}
	[[ $db =~ ^[A-Za-z0-9_][A-Za-z0-9_-]*$ ]] || die "invalid database name: $db"

	local psql isready out su sys_admin

	# a. An explicit DATABASE_URL wins, and a dead one is an error, not a reason to look elsewhere.
	if [[ -n ${DATABASE_URL:-} ]]; then
		if psql=$(find_pg_tool psql); then
			if ! out=$("$psql" -X -w -q -At -d "$DATABASE_URL" -c 'select 1' 2>&1); then
				die "DATABASE_URL is set but the database does not answer: ${out//$'\n'/ }"
			fi
		elif isready=$(find_pg_tool pg_isready); then
			"$isready" -q -d "$DATABASE_URL" -t 10 || die "DATABASE_URL is set but the server does not answer (pg_isready)"
		else
			log "warning: no psql or pg_isready to check DATABASE_URL; using it unchecked"
		fi
		log "using DATABASE_URL from the environment"
		printf '%s\n' "$DATABASE_URL"
		return 0
	fi

	# b. The machine's own server on 127.0.0.1:5432, if postgres gets in without a password and is superuser.
	sys_admin=$(url_for "$SYSTEM_HOST" "$SYSTEM_PORT" postgres)
	if isready=$(find_pg_tool pg_isready) && find_pg_tool psql >/dev/null &&
		"$isready" -q -h "$SYSTEM_HOST" -p "$SYSTEM_PORT" -U postgres -d postgres -t 3; then
		if su=$(sql "$sys_admin" "select current_setting('is_superuser')" 2>/dev/null) && [[ $su == on ]]; then
			log "using the server on $SYSTEM_HOST:$SYSTEM_PORT"
			ensure_database "$sys_admin" "$db"
			url_for "$SYSTEM_HOST" "$SYSTEM_PORT" "$db"
			echo
			return 0
		fi
		log "a server answers on $SYSTEM_HOST:$SYSTEM_PORT but user postgres cannot log in as superuser without a password; using a private cluster"
	fi

	# c. The private cluster.
	start_private
	ensure_database "$(url_for 127.0.0.1 "$PRIVATE_PORT" postgres)" "$db"
	url_for 127.0.0.1 "$PRIVATE_PORT" "$db"
	echo
}

cmd_status() {
	local base
	for base in "$(repo_base)" "$(tmp_base)"; do
		if cluster_running "$base"; then
			log "private cluster running in $base/data on port $(running_port "$base")"
			return 0
		fi
	done
	log "no private cluster is running"
	return 1
}

cmd_destroy() {
	stop_private
	local base
	for base in "$(repo_base)" "$(tmp_base)"; do
		if [[ -d $base ]]; then
			log "removing $base"
			rm -rf -- "$base"
		fi
	done
}

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
}

case ${1:-} in
url) shift; cmd_url "$@" ;;
stop) stop_private ;;
status) cmd_status ;;
destroy) cmd_destroy ;;
-h | --help | help) usage ;;
*) usage; exit 2 ;;
esac
