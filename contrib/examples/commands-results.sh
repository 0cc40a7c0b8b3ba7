#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Commands/Results pattern in shell, over libshmfs queues.
#
#   commands-results.sh server               answer commands until "stop"
#   commands-results.sh client COMMAND...    ask once, print the answer
#
# Commands: "upper TEXT", "sum N...", "stop". A client sends
# "REPLY-QUEUE COMMAND" to the queue Commands under the shmfs mount
# ($SHMFS_DIR, else /mnt/shm) with `shmfs send`, and waits with
# `shmfs recv --timeout` on its own reply queue, which it removes
# afterwards. The server takes each command with `shmfs recv`, which
# sleeps on a futex until one comes: every command reaches exactly one
# server, once, in order, however many clients (and servers) run at once,
# with no lock and no polling.
set -euo pipefail

shmfs=${SHMFS:-shmfs}
timeout=${TIMEOUT:-10}

die() {
	echo "commands-results.sh: $*" >&2
	exit 1
}

answer() {
	local verb=$1
	shift
	case "$verb" in
	upper) printf '%s\n' "$*" | tr '[:lower:]' '[:upper:]' ;;
	sum)
		local n total=0
		for n in "$@"; do
			[[ $n =~ ^-?[0-9]+$ ]] || { echo "error: '$n' is not a number"; return; }
			total=$((total + n))
		done
		echo "$total" ;;
	stop) echo "stopping" ;;
	*) echo "error: unknown command '$verb'" ;;
	esac
}

server() {
	local line reply cmd
	local -a words
	err=$(mktemp)
	trap 'rm -f "$err"' EXIT
	# Create the queue before saying so, so that clients find it.
	"$shmfs" send --timeout 0 Commands </dev/null
	"$shmfs" recv Commands >/dev/null
	echo "serving Commands"
	while :; do
		# A second at a time, so that a server killed in between
		# leaves no recv behind.
		if ! line=$("$shmfs" recv --timeout 1 Commands 2>"$err"); then
			grep -q '^shmfs: no message on queue' "$err" && continue
			die "$(cat "$err")"
		fi
		reply=${line%% *}
		cmd=${line#* }
		read -r -a words <<<"$cmd"
		[ ${#words[@]} -gt 0 ] || continue
		answer "${words[@]}" | "$shmfs" send "$reply"
		echo "$cmd"
		[ "${words[0]}" != stop ] || break
	done
}

client() {
	reply="Results.$$.$RANDOM"
	[ $# -gt 0 ] || die "usage: commands-results.sh client COMMAND..."
	trap '"$shmfs" rm "$reply" 2>/dev/null || true' EXIT
	printf '%s %s' "$reply" "$*" | "$shmfs" send Commands ||
		die "cannot send to Commands"
	"$shmfs" recv --timeout "$timeout" "$reply" 2>/dev/null ||
		die "no answer within $timeout seconds: is the server running?"
}

case "${1:-}" in
server) shift; server "$@" ;;
client) shift; client "$@" ;;
*)
	echo "usage: commands-results.sh server | client COMMAND..." >&2
	exit 2 ;;
esac
