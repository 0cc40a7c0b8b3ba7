#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The libshmfs queue on a real mount, in both data paths: its contract,
# wake-ups across processes, a million messages from several producers,
# producers and consumers killed with SIGKILL at random moments, hostile
# header contents, and contrib/python/shmfs_queue.py (copying and in place)
# against the C side.
# modes: passthrough cached

load helpers

setup() {
	shmfs_mount
	export SHMFS_DIR=$MNT
}

@test "queue contract: open, order across the ring's end, full and empty, timeouts, zero-copy both ways" {
	run "$SHMFS_TEST_BIN/lib_queue" basic
	assert_success
	assert_output --regexp '^lib_queue basic: all [0-9]+ checks passed$'
}

@test "a consumer blocked on empty and a producer blocked on full wake within 1 s" {
	run "$SHMFS_TEST_BIN/lib_queue" wake
	assert_success
	assert_output --regexp '^lib_queue wake: all [0-9]+ checks passed$'
}

@test "1000000 messages from 4 producer processes: each producer's in order, none lost or repeated" {
	run "$SHMFS_TEST_BIN/lib_queue" order 1000000 4
	assert_success
	assert_line "order: 1000000 messages from 4 producers, each in order, none lost or repeated"
	assert_line --regexp '^lib_queue order: all [0-9]+ checks passed$'
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "one queue object, a producer thread and a consumer thread, both in place at once" {
	run "$SHMFS_TEST_BIN/lib_queue" threads 100000
	assert_success
	assert_line "threads: 100000 messages in place between two threads of one object, in order"
	assert_line --regexp '^lib_queue threads: all [0-9]+ checks passed$'
}

@test "producers killed with SIGKILL at random moments: every committed message arrives, whole, in order" {
	run "$SHMFS_TEST_BIN/lib_queue_faults" kill-producer 20
	assert_success
	assert_line "kill-producer: 20 producers killed; every committed message arrived whole and in order"
	assert_line --regexp '^lib_queue_faults kill-producer: all [0-9]+ checks passed$'
}

@test "consumers killed with SIGKILL during zero-copy reads: nothing twice, each loss reported" {
	run "$SHMFS_TEST_BIN/lib_queue_faults" kill-consumer 20 zero
	assert_success
	assert_line "kill-consumer (zero-copy): 20 consumers killed; no message twice, at most one missing per kill, each reported"
	assert_line --regexp '^lib_queue_faults kill-consumer: all [0-9]+ checks passed$'
}

@test "consumers killed with SIGKILL during copying receives: nothing twice" {
	run "$SHMFS_TEST_BIN/lib_queue_faults" kill-consumer 20 copy
	assert_success
	assert_line "kill-consumer (copy): 20 consumers killed; no message twice, at most one missing per kill"
	assert_line --regexp '^lib_queue_faults kill-consumer: all [0-9]+ checks passed$'
}

@test "a corrupted header gives errors, never a crash or a hang; locks of dead owners are taken over" {
	run "$SHMFS_TEST_BIN/lib_queue_faults" corrupt 2000
	assert_success
	assert_line "corrupt: 2000 rounds of random header words, only errors"
	assert_line --regexp '^lib_queue_faults corrupt: all [0-9]+ checks passed$'
}

@test "Python (shmfs_queue.py) and C share a queue: both ways, 500 KB messages, producers of both kinds at once" {
	export PYTHONPATH=$BATS_TEST_DIRNAME/../contrib/python
	# C to Python, one message 500 KB.
	head -c 500000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	local i
	for i in $(seq 1 50); do
		printf 'c%d' "$i" | "$SHMFS" send q
	done
	"$SHMFS" send q <"$BATS_TEST_TMPDIR/big"
	run python3 -c '
import sys
from shmfs_queue import Queue
q = Queue("q")
for i in range(1, 51):
    m = q.recv(timeout=5)
    assert m == b"c%d" % i, (i, m)
big = q.recv(timeout=5)
assert big == open(sys.argv[1], "rb").read(), len(big)
try:
    q.recv(timeout=0.1)
    print("not empty")
except TimeoutError as e:
    print("C to Python: 51 messages in order;", e)
' "$BATS_TEST_TMPDIR/big"
	assert_success
	assert_output "C to Python: 51 messages in order; no message on queue 'q'"
	# Python to C, lengths up to 500 KB, across the ring's end.
	python3 -c '
from shmfs_queue import Queue
q = Queue("q")
for i in range(40):
    q.send(b"p%03d" % i + b"x" * ((i * 12345) % 500000), timeout=10)
' 3>&- &
	local py=$!
	for i in $(seq 0 39); do
		run "$SHMFS" recv --timeout 10 q
		assert_success
		[ "${output:0:4}" = "$(printf 'p%03d' "$i")" ] || fail "message $i: '${output:0:4}'"
		[ "${#output}" -eq $((4 + (i * 12345) % 500000)) ] || fail "message $i: ${#output} bytes"
	done
	wait "$py"
	# Two C producers and one Python producer at once; Python consumes
	# and checks each producer's order.
	local pids=()
	(for i in $(seq 0 99); do printf 'a %d' "$i" | "$SHMFS" send q; done) 3>&- &
	pids+=($!)
	(for i in $(seq 0 99); do printf 'b %d' "$i" | "$SHMFS" send q; done) 3>&- &
	pids+=($!)
	python3 -c '
from shmfs_queue import Queue
q = Queue("q")
for i in range(300):
    q.send(b"p %d" % i, timeout=10)
' 3>&- &
	pids+=($!)
	run python3 -c '
from shmfs_queue import Queue
q = Queue("q")
nxt = {b"a": 0, b"b": 0, b"p": 0}
for n in range(500):
    who, k = q.recv(timeout=10).split()
    assert int(k) == nxt[who], (who, k, nxt[who])
    nxt[who] += 1
print("500 messages from 3 producers, each in order")
'
	assert_success
	assert_output "500 messages from 3 producers, each in order"
	for i in "${pids[@]}"; do
		wait "$i"
	done
}

@test "Python in place (reserve/commit, read/release on memoryviews over the ring) and C share a queue, across the ring's end" {
	export PYTHONPATH=$BATS_TEST_DIRNAME/../contrib/python
	local t=$BATS_TEST_TMPDIR i
	# Messages of 2000 to 4000 bytes through a ring of 8 KiB: most of
	# them run past its end and go on at its start.
	python3 -c '
import sys
for i in range(30):
    n = 2000 + (i * 377) % 2000
    open(f"{sys.argv[1]}/p{i}", "wb").write(bytes((i + j) % 251 for j in range(n)))
' "$t"
	printf first | "$SHMFS" send --capacity 8192 q
	run python3 -c '
from shmfs_queue import Queue
q = Queue("q")
assert q.capacity == 8192, q.capacity
with q.reading(timeout=5) as m:
    assert m == b"first", bytes(m)
    try:
        m[0] = 0
        print("writable")
    except TypeError:
        pass
try:
    m[0]
    print("still valid")
except ValueError:
    print("read in place, released at the end of the block")
'
	assert_success
	assert_output "read in place, released at the end of the block"

	# Python to C: each message built in place.
	python3 -c '
import sys
from shmfs_queue import Queue
q = Queue("q")
for i in range(30):
    want = open(f"{sys.argv[1]}/p{i}", "rb").read()
    with q.reserved(len(want), timeout=10) as buf:
        buf[:] = want
' "$t" 3>&- &
	local py=$!
	for i in $(seq 0 29); do
		"$SHMFS" recv --timeout 10 q >"$t/c$i" || fail "recv $i"
		cmp "$t/p$i" "$t/c$i" || fail "message $i differs"
	done
	wait "$py"

	# C to Python: each message inspected in place.
	(for i in $(seq 0 29); do "$SHMFS" send q <"$t/p$i"; done) 3>&- &
	local sh=$!
	run python3 -c '
import sys
from shmfs_queue import Queue
q = Queue("q")
for i in range(30):
    want = open(f"{sys.argv[1]}/p{i}", "rb").read()
    m = q.read(timeout=10)
    assert m == want, (i, len(m), len(want))
    q.release()
print("30 messages read in place, in order")
' "$t"
	assert_success
	assert_output "30 messages read in place, in order"
	wait "$sh"

	# A shorter commit delivers only its bytes; cancel and an exception
	# inside reserved() deliver nothing, and both release the side.
	run python3 -c '
from shmfs_queue import Queue
q = Queue("q")
buf = q.reserve(100)
buf[:6] = b"cancel"
q.cancel()
try:
    with q.reserved(100) as buf:
        buf[:5] = b"raise"
        raise KeyError("inside")
except KeyError:
    pass
buf = q.reserve(100)
buf[:5] = b"short"
q.commit(5)
try:
    q.commit()
except OSError as e:
    print("second commit:", e.strerror)
'
	assert_success
	assert_output "second commit: nothing open in this thread"
	run "$SHMFS" recv --timeout 5 q
	assert_success
	assert_output "short"
	run "$SHMFS" recv --timeout 0.2 q
	assert_failure
	assert_output "shmfs: no message on queue 'q'"
}
