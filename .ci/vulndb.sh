#!/usr/bin/env bash
# Print the directory of a local Go vulnerability database for
# `govulncheck -db file://DIR`.
#
# These machines reach the Go module proxy but not vuln.go.dev. The database is
# also published as the Go module golang.org/x/vulndb (data/osv/GO-*.json), so
# this script fetches the newest version of that module through the proxy
# (checked against sum.golang.org like any module) and turns it into the v1
# database layout with the module's own cmd/indexdb, at the same version.
#
# The result is cached per vulndb version outside the checkout, so clean clones
# on the same machine share it:
#   $DVR_VULNDB_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/dvresponse/vulndb/<version>
# A build takes up to a few minutes the first time on a machine (downloads and compiles
# indexdb); later runs only ask the proxy for the newest version.
#
# When the proxy cannot be asked, or the build fails, the newest cached copy is
# used (with a warning). Only the directory goes to stdout; diagnostics go to
# stderr. Exit status 1: no database is available.
#
# Environment:
#   GO                      go command (default go)
#   VULNDB_VERSION          vulndb module version to use (default latest)
#   VULNDB_LOOKUP_TIMEOUT   seconds to wait for the proxy to name the version (default 60)
#   VULNDB_KEEP             how many versions to keep in the cache (default 3)
set -euo pipefail

log() { printf 'vulndb.sh: %s\n' "$*" >&2; }

GO=${GO:-go}
MODULE=golang.org/x/vulndb
WANT=${VULNDB_VERSION:-latest}
LOOKUP_TIMEOUT=${VULNDB_LOOKUP_TIMEOUT:-60}
KEEP=${VULNDB_KEEP:-3}
CACHE=${DVR_VULNDB_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/dvresponse/vulndb}

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd -P)

# The go commands below run in an empty directory, outside this module and any
# go.work, with the caller's GOFLAGS (e.g. -mod=vendor) cleared: they concern
# only the vulndb module. GOTOOLCHAIN is left as the caller set it.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dvresponse-vulndb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export GOFLAGS= GOWORK=off

# A string field of the JSON the go command prints, one field per line.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n1; }

# A cache entry is complete when it has the index and the entries govulncheck reads.
complete() {
	[[ -s $1/index/db.json && -s $1/index/modules.json && -s $1/index/vulns.json && -d $1/ID && -s $1/SOURCE.json ]]
}

describe() { # DIR: "golang.org/x/vulndb VERSION (published TIME, N entries)"
	local v t n
	v=$(json_field Version <"$1/SOURCE.json")
	t=$(json_field Time <"$1/SOURCE.json")
	n=$(find "$1/ID" -maxdepth 1 -name '*.json' | wc -l)
	printf '%s %s (published %s, %s entries)' "$MODULE" "$v" "$t" "${n// /}"
}

newest_cached() {
	local d best=
	for d in "$CACHE"/v*; do
		if [[ -d $d ]] && complete "$d"; then best+="$d"$'\n'; fi
	done
	[[ -n $best ]] || return 1
	printf '%s' "$best" | sort -V | tail -n1
}

use_cached() { # REASON
	local d
	if d=$(newest_cached); then
		log "WARNING: $1; using the newest cached database instead: $(describe "$d")"
		printf '%s\n' "$d"
		exit 0
	fi
	log "$1, and no database is cached in $CACHE"
	exit 1
}

# 1. Which version? (Only this step needs the proxy when the version is cached.)
if ! info=$(timeout "$LOOKUP_TIMEOUT" "$GO" list -m -json "$MODULE@$WANT"); then
	use_cached "cannot look up $MODULE@$WANT through the Go module proxy ($("$GO" env GOPROXY 2>/dev/null || echo '?'))"
fi
version=$(json_field Version <<<"$info")
[[ $version =~ ^v[0-9A-Za-z.+-]+$ ]] || use_cached "unexpected answer for $MODULE@$WANT: $info"
dest=$CACHE/$version

if complete "$dest"; then
	log "using $(describe "$dest")"
	printf '%s\n' "$dest"
	exit 0
fi

# 2. Build it, once: concurrent runs (other checkouts) wait for the first.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
	if complete "$dest"; then
		log "using $(describe "$dest") (built by a concurrent run)"
		printf '%s\n' "$dest"
		exit 0
	fi
fi
# Remove what interrupted builds left (older than a day, so never a running one).
find "$CACHE" -mindepth 1 -maxdepth 1 -name '.tmp-*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true

log "building the vulnerability database from $MODULE $version (once per version; up to a few minutes the first time on a machine)"
start=$(date +%s)
if ! dl=$("$GO" mod download -json "$MODULE@$version"); then
	printf '%s\n' "$dl" >&2
	use_cached "cannot download $MODULE@$version"
fi
src=$(json_field Dir <<<"$dl")
[[ -d $src/data/osv ]] || use_cached "$MODULE@$version has no data/osv directory (layout changed?)"

# Built beside its final place and renamed into it, so a cache entry is never half written.
tmp=$(mktemp -d "$CACHE/.tmp-$version.XXXXXX")
trap 'rm -rf "$WORK" "$tmp"' EXIT
if ! "$GO" run "$MODULE/cmd/indexdb@$version" -vulns "$src/data/osv" -out "$tmp/db" >&2; then
	use_cached "indexdb failed to build the database from $MODULE@$version"
fi
# The index's own "modified" date is unset (the OSV files carry none), so keep
# where the database came from next to it, for the message below and for people.
printf '%s\n' "$info" >"$tmp/db/SOURCE.json"
complete "$tmp/db" || use_cached "indexdb did not write a complete database from $MODULE@$version"
chmod -R a+rX "$tmp/db"
complete "$dest" || rm -rf "$dest" # an incomplete leftover, if any
if ! mv -T "$tmp/db" "$dest" 2>/dev/null; then
	complete "$dest" || { log "cannot move the database into $dest"; exit 1; }
fi
log "built in $(($(date +%s) - start))s: $dest"

# 3. Keep the newest $KEEP versions (about 40 MB each).
old=$(for d in "$CACHE"/v*; do
	if [[ -d $d && $d != "$dest" ]]; then printf '%s\n' "$d"; fi
done | sort -V | head -n "-$((KEEP > 1 ? KEEP - 1 : 0))")
if [[ -n $old ]]; then
	while IFS= read -r d; do
		log "removing old cached database $d"
		rm -rf "$d"
	done <<<"$old"
fi

log "using $(describe "$dest")"
printf '%s\n' "$dest"
