#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Commands/Results pattern in shell, with flock(1) and inotifywait(1).
#
#   commands-results.sh server               answer commands until "stop"
#   commands-results.sh client COMMAND...    ask once, print the answer
#
# Commands: "upper TEXT", "sum N...", "stop". Two segments under the shmfs
# mount ($SHMFS_DIR, else /mnt/shm) carry the exchange: a client writes
# "ID COMMAND" to Commands, the server writes "ID ANSWER" to Results. Each
# write holds the segment's exclusive flock and each read its shared flock,
# the lock libshmfs's shmfs_segment_lock() takes, so nobody reads half a
# line. inotify reports the writer's close (IN_CLOSE_WRITE) through the
# mount, so neither side polls. Clients hold a third lock, on Commands.lock,
# for their whole exchange, so any number may run at once.
set -euo pipefail

dir=${SHMFS_DIR:-/mnt/shm}
commands=$dir/Commands
results=$dir/Results
timeout=${TIMEOUT:-10}

die() {
	echo "commands-results.sh: $*" >&2
	exit 1
}

# put FILE TEXT: replace the contents of FILE under its exclusive lock.
put() {
	flock -x "$1" sh -c 'printf "%s\n" "$1" >"$2"' put "$2" "$1"
}

# get FILE: print FILE under its shared lock.
get() {
	flock -s "$1" cat "$1"
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

# watch: start inotifywait on $dir as a coprocess-like reader on fd $ev,
# and return once its watch is in place. It reports the name of each file
# closed after writing there, one a line, and is stopped when we exit.
watch() {
	local line
	exec {ev}< <(exec inotifywait -m -e close_write --format '%f' "$dir" 2>&1)
	watcher=$!
	trap 'kill "$watcher" 2>/dev/null' EXIT
	while read -r -u "$ev" line; do
		case "$line" in
		"Setting up watches.") ;;
		"Watches established.") return 0 ;;
		*) die "inotifywait: $line" ;;
		esac
	done
	die "inotifywait stopped"
}

server() {
	local name line id cmd
	[ -d "$dir" ] || die "'$dir' does not exist (is shmfs mounted?)"
	: >>"$commands"
	: >>"$results"
	watch
	echo "serving $commands"
	while read -r -u "$ev" name; do
		[ "$name" = Commands ] || continue
		line=$(get "$commands")
		[ -n "$line" ] || continue
		id=${line%% *}
		cmd=${line#* }
		read -r -a words <<<"$cmd"
		put "$results" "$id $(answer "${words[@]}")"
		echo "$cmd"
		[ "${words[0]}" != stop ] || break
	done
}

client() {
	local id="$$.$RANDOM" line name
	[ $# -gt 0 ] || die "usage: commands-results.sh client COMMAND..."
	[ -f "$commands" ] || die "'$commands' does not exist: start the server first"
	watch
	# Taken after the watcher started, so it does not inherit the lock.
	exec {lock}>>"$commands.lock"
	flock -x "$lock"
	put "$commands" "$id $*"
	while read -r -t "$timeout" -u "$ev" name; do
		[ "$name" = Results ] || continue
		line=$(get "$results")
		if [ "${line%% *}" = "$id" ]; then
			echo "${line#* }"
			return 0
		fi
	done
	die "no answer within $timeout seconds: is the server running?"
}

case "${1:-}" in
server) shift; server "$@" ;;
client) shift; client "$@" ;;
*)
	echo "usage: commands-results.sh server | client COMMAND..." >&2
	exit 2 ;;
esac
