# SPDX-License-Identifier: MIT
# bash completion for shmfs(8): subcommands, their flags, the names of the
# -o options (and the values of passthrough=, uring=, huge=, mpol=, uid=,
# gid=, store=), shmfs mountpoints from /proc/mounts, segment names under
# $SHMFS_DIR, and the command (then its files) that "shmfs exec" runs.
# Needs nothing from the bash-completion package.

_shmfs_commands=$'mount\numount\nstatus\ndiscard\ncreate\nls\nrm\nsend\nrecv\nexec'
_shmfs_mount_options=$'size=\nnr_inodes=\nmode=\nuid=\ngid=\nstore=\nhuge=\nnoswap\nmpol=\npassthrough=\nuring=\nbusy_poll=\nxattr\nacl\nallow_other\nro\nrw\nnosuid\nnodev\nnoexec\nnoatime\nsuid\ndev\nexec\natime'

# Set words[] and cword from COMP_WORDS, gluing back the pieces that bash
# split at characters of COMP_WORDBREAKS ("size" "=" "1g" -> "size=1g"),
# and cutting the current word at the cursor.
_shmfs_words()
{
	local line i w pos=0 glued

	words=()
	cword=0
	if [[ -z ${COMP_LINE+set} ]]; then
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		return
	fi
	line=${COMP_LINE:0:COMP_POINT}
	for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		glued=1
		while [[ ${line:pos:1} == [[:space:]] ]]; do
			pos=$((pos + 1))
			glued=0
		done
		if ((i == COMP_CWORD)); then
			w=${line:pos}
		fi
		if ((i > 0 && glued)); then
			words[${#words[@]} - 1]+=$w
		else
			words+=("$w")
		fi
		pos=$((pos + ${#w}))
	done
	if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
		words+=("")
	fi
	cword=$((${#words[@]} - 1))
}

# Readline replaces only the text after the last word-break character of
# the current word: drop that much from each candidate.
_shmfs_trim_reply()
{
	local cur=$1 i prefix=

	[[ -n ${COMP_LINE+set} ]] || return 0
	for ((i = ${#cur} - 1; i >= 0; i--)); do
		if [[ $COMP_WORDBREAKS == *"${cur:i:1}"* ]]; then
			prefix=${cur:0:i+1}
			break
		fi
	done
	if [[ -n $prefix ]]; then
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
		done
	fi
}

# Candidates that end in "=" or "/" want more text after them.
_shmfs_nospace()
{
	local c

	for c in "${COMPREPLY[@]}"; do
		if [[ $c == *[=/] ]]; then
			compopt -o nospace 2>/dev/null
			return 0
		fi
	done
	return 0
}

_shmfs_mountpoints()
{
	local mp type

	while read -r _ mp type _; do
		[[ $type == fuse.shmfs ]] && printf '%b\n' "$mp"
	done </proc/mounts
	return 0
}

# Words from the newline-separated list $1 that start with $2.
_shmfs_match()
{
	local w

	while IFS= read -r w; do
		[[ -n $w && $w == "$2"* ]] && COMPREPLY+=("$w")
	done <<<"$1"
	return 0
}

_shmfs_dirs()
{
	local d

	while IFS= read -r d; do
		COMPREPLY+=("$d/")
	done < <(compgen -d -- "$1")
}

# The value of -o: complete the last comma-separated option.
_shmfs_options()
{
	local cur=$1 head last key val

	head=
	last=$cur
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		last=${cur##*,}
	fi
	if [[ $last != *=* ]]; then
		_shmfs_match "$_shmfs_mount_options" "$last"
		COMPREPLY=("${COMPREPLY[@]/#/"$head"}")
		return 0
	fi
	key=${last%%=*}
	val=${last#*=}
	case $key in
	passthrough | uring) _shmfs_match $'auto\non\noff' "$val" ;;
	huge) _shmfs_match $'never\nalways\nwithin_size\nadvise' "$val" ;;
	mpol) _shmfs_match $'default\nlocal\nprefer:\nbind:\ninterleave' "$val" ;;
	uid) _shmfs_match "$(compgen -u)" "$val" ;;
	gid) _shmfs_match "$(compgen -g)" "$val" ;;
	store) _shmfs_dirs "$val" ;;
	*) return 0 ;;
	esac
	COMPREPLY=("${COMPREPLY[@]/#/"$head$key="}")
}

# Segment names below the segment directory.
_shmfs_segments()
{
	local dir=${SHMFS_DIR:-/mnt/shm} f

	dir=${dir%/}
	while IFS= read -r f; do
		if [[ -d $f ]]; then
			COMPREPLY+=("${f#"$dir"/}/")
		else
			COMPREPLY+=("${f#"$dir"/}")
		fi
	done < <(compgen -f -- "$dir/$1")
}

_shmfs()
{
	local words cword cur prev cmd i npos=0 dashdash=0

	COMPREPLY=()
	_shmfs_words
	cur=${words[cword]}
	prev=
	((cword > 0)) && prev=${words[cword - 1]}

	if ((cword == 1)); then
		if [[ $cur == -* ]]; then
			_shmfs_match $'-h\n--help\n-V\n--version' "$cur"
		else
			_shmfs_match "$_shmfs_commands" "$cur"
		fi
		_shmfs_trim_reply "$cur"
		return 0
	fi
	cmd=${words[1]}
	for ((i = 2; i < cword; i++)); do
		case ${words[i]} in
		-o | --store | --timeout | --capacity) i=$((i + 1)) ;;
		--) ((npos)) || dashdash=1 ;;
		-*) ((npos == 0 || cmd != exec)) || npos=$((npos + 1)) ;;
		*) npos=$((npos + 1)) ;;
		esac
	done

	case $cmd in
	mount)
		if [[ $prev == -o ]]; then
			_shmfs_options "$cur"
		elif [[ $cur == -* ]]; then
			_shmfs_match $'-o\n-f\n-d\n-h\n--help' "$cur"
		else
			_shmfs_dirs "$cur"
		fi
		;;
	umount)
		if [[ $cur == -* ]]; then
			_shmfs_match $'-l\n--lazy\n--discard' "$cur"
		elif ((npos == 0)); then
			_shmfs_match "$(_shmfs_mountpoints)" "$cur"
		fi
		;;
	status)
		if [[ $cur == -* ]]; then
			_shmfs_match --raw "$cur"
		elif ((npos == 0)); then
			_shmfs_match "$(_shmfs_mountpoints)" "$cur"
		fi
		;;
	discard)
		if [[ $prev == --store ]]; then
			_shmfs_dirs "$cur"
		elif [[ $cur == -* ]]; then
			_shmfs_match --store "$cur"
		elif ((npos == 0)); then
			_shmfs_dirs "$cur"
		fi
		;;
	create)
		if [[ $cur == -* ]]; then
			_shmfs_match $'--transient\n--help' "$cur"
		elif ((npos == 0)); then
			_shmfs_segments "$cur"
		fi
		;;
	ls)
		if [[ $cur == -* ]]; then
			_shmfs_match $'--json\n--holders\n--help' "$cur"
		elif ((npos == 0)); then
			_shmfs_match "$(_shmfs_mountpoints)" "$cur"
		fi
		;;
	rm)
		if [[ $cur == -* ]]; then
			_shmfs_match --help "$cur"
		else
			_shmfs_segments "$cur"
		fi
		;;
	exec)
		if ((npos == 0)) && [[ $prev == -o ]] && ((!dashdash)); then
			_shmfs_options "$cur"
		elif ((npos == 0)) && [[ $cur == -* ]] && ((!dashdash)); then
			_shmfs_match $'-o\n--\n--help' "$cur"
		elif ((npos == 0)); then
			_shmfs_match "$(compgen -c -- "$cur" | sort -u)" "$cur"
		else
			while IFS= read -r i; do
				COMPREPLY+=("$i")
			done < <(compgen -f -- "$cur")
		fi
		;;
	send | recv)
		if [[ $prev == --timeout || $prev == --capacity ]]; then
			:
		elif [[ $cur == -* ]]; then
			if [[ $cmd == send ]]; then
				_shmfs_match $'--timeout\n--capacity\n--help' "$cur"
			else
				_shmfs_match $'--timeout\n--help' "$cur"
			fi
		elif ((npos == 0)); then
			_shmfs_segments "$cur"
		fi
		;;
	esac
	_shmfs_trim_reply "$cur"
	_shmfs_nospace
	return 0
}

complete -F _shmfs shmfs
