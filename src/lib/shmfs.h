/* SPDX-License-Identifier: MIT */
/*
 * libshmfs: named shared-memory segments on a shmfs mount, for C programs.
 *
 * A segment is a regular file under the mount directory ($SHMFS_DIR, else
 * /mnt/shm); its name is its path below that directory ("MemoryFile",
 * "app/Commands"). The library gives:
 *
 *   - names:   validation and resolution of a segment name to a path;
 *   - segment: create-or-open, create-exclusive and open-existing by name,
 *              with a size (the .NET MemoryMappedFile.CreateOrOpen idiom);
 *   - view:    a mapping of a byte range of a segment, with bounds-checked
 *              copies and length-prefixed UTF-8 strings;
 *   - mailbox: a single-writer, many-reader, lock-free message slot (a
 *              seqlock) with futex wake-ups: the latest state;
 *   - queue:   a bounded ring of variable-size messages, each delivered
 *              once, in order, for the Commands/Results pattern;
 *   - lock:    whole-segment flock() locks and robust process-shared
 *              pthread mutexes stored inside a segment.
 *
 * Conventions: every function that can fail returns 0 or a negative errno
 * (-ENOENT, -EINVAL, ...); out-parameters are written only on success unless
 * said otherwise. The library keeps no global state and every function is
 * thread-safe; one object (segment, view, mailbox) may be used by several
 * threads at once except that closing it must come after every other use.
 */
#ifndef SHMFS_H
#define SHMFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMFS_PUBLIC __attribute__((visibility("default")))

/* ---------------------------------------------------------------- names */

/* The mount directory used when $SHMFS_DIR is not set. */
#define SHMFS_DEFAULT_DIR "/mnt/shm"
/* The longest component of a segment name, in bytes. */
#define SHMFS_NAME_MAX 255

/*
 * The directory segment names are resolved in: $SHMFS_DIR if set and not
 * empty, else SHMFS_DEFAULT_DIR. The string belongs to the environment (or
 * is static); do not free it.
 */
SHMFS_PUBLIC const char *shmfs_name_dir(void);

/*
 * Check a segment name. Valid names are non-empty relative paths whose
 * components ("a/b" has two) are 1..SHMFS_NAME_MAX bytes, are not "." or
 * "..", and contain no control characters (bytes 0x01-0x1f and 0x7f).
 * Returns 0, -EINVAL (empty, leading '/', empty, "." or ".." component,
 * control character) or -ENAMETOOLONG (a component over SHMFS_NAME_MAX).
 */
SHMFS_PUBLIC int shmfs_name_validate(const char *name);

/*
 * Write the path of segment NAME, "<shmfs_name_dir()>/<name>", to
 * buf[0..len). Returns 0, the errors of shmfs_name_validate(), or
 * -ENAMETOOLONG if the path does not fit in len bytes (with its NUL).
 */
SHMFS_PUBLIC int shmfs_name_resolve(const char *name, char *buf, size_t len);

/* -------------------------------------------------------------- segment */

struct shmfs_segment;

/* Flags of shmfs_segment_open(). */
enum shmfs_open_flags {
	/* Create the segment if it does not exist (create-or-open). */
	SHMFS_OPEN_CREATE = 1 << 0,
	/* Create the segment; fail with -EEXIST if it exists. */
	SHMFS_OPEN_EXCL = 1 << 1,
	/* Mark a segment this call creates transient: the daemon removes it
	 * when its last open handle is released (the ioctl
	 * SHMFS_IOC_SET_TRANSIENT on a mount; in a plain directory, the
	 * xattr user.shmfs.transient). */
	SHMFS_TRANSIENT = 1 << 2,
	/* Open for reading only; views can then only be mapped for reading. */
	SHMFS_RDONLY = 1 << 3,
};

/*
 * Open segment NAME.
 *
 *   flags & SHMFS_OPEN_EXCL:    create a new segment, -EEXIST if it exists;
 *   flags & SHMFS_OPEN_CREATE:  open it, creating it if it does not exist;
 *   neither:                    open an existing segment, -ENOENT if none.
 *
 * Directories in the name ("app/Commands") are created as needed when
 * creating. If SIZE is larger than the segment, the segment grows to SIZE
 * (its new bytes read as zero); a segment never shrinks here. SIZE 0 keeps
 * the size as it is. With SHMFS_RDONLY, a SIZE larger than the segment is
 * -EINVAL (it cannot be grown) and creating flags are -EINVAL too. New
 * segments get mode 0666 less the umask.
 *
 * The name is reached beneath the segment directory with no symbolic link
 * followed, in its directories or as its last component, as shm_open()
 * does: a mount that every user writes to may hold links another user
 * planted. A link on the way is -ELOOP, and nothing outside the segment
 * directory is opened, made or grown.
 *
 * On success *segp is a new segment object, to be released with
 * shmfs_segment_close().
 */
SHMFS_PUBLIC int shmfs_segment_open(const char *name, uint64_t size, int flags,
				    struct shmfs_segment **segp);

/* Close the segment's descriptor (dropping its flock lock, if any) and free
 * the object. Views mapped from it stay valid until unmapped. NULL is fine. */
SHMFS_PUBLIC void shmfs_segment_close(struct shmfs_segment *seg);

/* The current size of the segment in bytes (another process may have grown
 * it since it was opened). Returns 0 or a negative errno from fstat(). */
SHMFS_PUBLIC int shmfs_segment_size(struct shmfs_segment *seg, uint64_t *sizep);

/* Grow the segment to at least SIZE bytes, never shrinking it, even when
 * several processes grow it at once. -EBADF for a read-only segment. */
SHMFS_PUBLIC int shmfs_segment_grow(struct shmfs_segment *seg, uint64_t size);

/* The segment's file descriptor, owned by the segment object (for poll,
 * fstat, mmap of your own...). Never fails for an open segment. */
SHMFS_PUBLIC int shmfs_segment_fd(const struct shmfs_segment *seg);

/* The segment's resolved path, valid until shmfs_segment_close(). */
SHMFS_PUBLIC const char *shmfs_segment_path(const struct shmfs_segment *seg);

/* The segment's name as given to shmfs_segment_open(). */
SHMFS_PUBLIC const char *shmfs_segment_name(const struct shmfs_segment *seg);

/* Remove segment NAME. Processes that have it open or mapped keep their
 * pages until they close it. Returns 0, -ENOENT, -ELOOP for a symbolic
 * link on the way or as the name itself (never followed, never removed),
 * or another negative errno. */
SHMFS_PUBLIC int shmfs_segment_unlink(const char *name);

/*
 * Write a one-line, human-readable message for error ERR (negative or
 * positive errno) about segment NAME to buf[0..len), such as
 * "segment 'MemoryFile' does not exist". Always NUL-terminates (len > 0).
 * Returns 0, or -ENAMETOOLONG if the message was cut short.
 */
SHMFS_PUBLIC int shmfs_segment_error(const char *name, int err, char *buf, size_t len);

/* ----------------------------------------------------------------- view */

struct shmfs_view;

/* Protections of a view; same values as PROT_READ and PROT_WRITE. */
enum shmfs_prot {
	SHMFS_PROT_READ = 0x1,
	SHMFS_PROT_WRITE = 0x2,
};

/*
 * Map LENGTH bytes of the segment starting at byte OFFSET (any offset: page
 * alignment is handled inside), shared with every other process mapping the
 * segment. LENGTH 0 maps from OFFSET to the current end of the segment.
 * PROT is SHMFS_PROT_READ, optionally | SHMFS_PROT_WRITE; 0 means read and
 * write, or read only for a segment opened SHMFS_RDONLY.
 *
 * Returns 0, -ERANGE if the range is empty or does not lie inside the
 * segment as it is now, -EBADF for a writable view of a read-only segment,
 * -EINVAL for unknown PROT bits, or an errno of mmap().
 */
SHMFS_PUBLIC int shmfs_view_map(struct shmfs_segment *seg, uint64_t offset, size_t length, int prot,
				struct shmfs_view **viewp);

/* Unmap the view and free it. NULL is fine. */
SHMFS_PUBLIC void shmfs_view_unmap(struct shmfs_view *view);

/* The first byte of the view (the segment's byte OFFSET) and its length. */
SHMFS_PUBLIC void *shmfs_view_addr(const struct shmfs_view *view);
SHMFS_PUBLIC size_t shmfs_view_length(const struct shmfs_view *view);

/*
 * Copy LEN bytes from BUF into the view at byte OFF of the view (write), or
 * from the view into BUF (read). Returns 0, -ERANGE if [OFF, OFF+LEN) is not
 * inside the view, or -EBADF when writing to a read-only view.
 */
SHMFS_PUBLIC int shmfs_view_write(struct shmfs_view *view, size_t off, const void *buf, size_t len);
SHMFS_PUBLIC int shmfs_view_read(const struct shmfs_view *view, size_t off, void *buf, size_t len);

/*
 * Strings in a view are stored length-prefixed: a 32-bit unsigned byte
 * count in little-endian order, then that many bytes of UTF-8 (no NUL).
 *
 * shmfs_view_write_string() stores the C string STR at OFF. Returns 0,
 * -EILSEQ if STR is not valid UTF-8, -ERANGE if OFF leaves no room for the
 * prefix, -EMSGSIZE if the string does not fit in the view after OFF, or
 * -EBADF for a read-only view.
 *
 * shmfs_view_read_string() reads the string at OFF into buf[0..cap) as a C
 * string and sets *lenp (if not NULL) to its length in bytes. Returns 0,
 * -ERANGE if the prefix or the bytes it counts are not inside the view,
 * -EMSGSIZE if cap is not at least length + 1 (then *lenp is the length
 * needed, without the NUL), or -EILSEQ if the bytes are not valid UTF-8 or
 * contain a NUL.
 */
SHMFS_PUBLIC int shmfs_view_write_string(struct shmfs_view *view, size_t off, const char *str);
SHMFS_PUBLIC int shmfs_view_read_string(const struct shmfs_view *view, size_t off, char *buf,
					size_t cap, size_t *lenp);

/* Check that buf[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF). Returns 0 or -EILSEQ. */
SHMFS_PUBLIC int shmfs_utf8_validate(const void *buf, size_t len);

/* -------------------------------------------------------------- mailbox */

/*
 * A mailbox is a segment holding the latest value of something: a 64-byte
 * header (magic "SHMB", format version 3, capacity, slot count, the number
 * of the newest message, a futex word)
 * followed by three slots, each a 64-byte header (a 64-bit sequence
 * counter used as a seqlock, the message length) and CAPACITY bytes.
 * Exactly one process at a time publishes; any number read, without locks:
 * a reader never returns a message that was being overwritten, and the
 * publisher never waits for readers. Messages are copied in and out with
 * memcpy(), at memory speed; successive messages go to successive slots,
 * so a reader's copy is spoilt only if two more publishes complete while it
 * copies. Each publish replaces the previous message; readers that fall
 * behind see the newest message, not every one (for every message exactly
 * once, use a queue).
 *
 * Message sequence numbers count publishes: the first message is 1, and 0
 * means nothing was published yet.
 */
struct shmfs_mailbox;

/* Size of the mailbox header that precedes the slots (each slot has a
 * header of the same size before its CAPACITY bytes). */
#define SHMFS_MAILBOX_HEADER_SIZE 64

/*
 * Open mailbox NAME. FLAGS are those of shmfs_segment_open(). When the
 * segment is created (or exists but was never set up), it is sized for
 * CAPACITY bytes of message (rounded up to a multiple of 64) in each of its
 * three slots, 64 + 3 * (64 + CAPACITY) bytes in all, and initialised;
 * CAPACITY 0 opens an existing mailbox with whatever capacity it has.
 *
 * Returns 0, the errors of shmfs_segment_open(), -EPROTO if the segment is
 * not a mailbox, -EPROTONOSUPPORT if it is a mailbox of another format
 * version (version 1, with a checksum, and version 2, with one slot, are
 * no longer read), -EFBIG if the mailbox's capacity is smaller than
 * CAPACITY, -EAGAIN if it is not initialised yet and this opener cannot do
 * it (SHMFS_RDONLY, or CAPACITY 0).
 */
SHMFS_PUBLIC int shmfs_mailbox_open(const char *name, size_t capacity, int flags,
				    struct shmfs_mailbox **mbp);

/* Unmap and close the mailbox. NULL is fine. */
SHMFS_PUBLIC void shmfs_mailbox_close(struct shmfs_mailbox *mb);

/* The largest message the mailbox holds, in bytes. */
SHMFS_PUBLIC size_t shmfs_mailbox_capacity(const struct shmfs_mailbox *mb);

/* The segment under the mailbox (for shmfs_segment_lock() and the like). */
SHMFS_PUBLIC struct shmfs_segment *shmfs_mailbox_segment(const struct shmfs_mailbox *mb);

/*
 * Publish buf[0..len) as the new message and wake every waiter (one
 * FUTEX_WAKE: readers may hold the segment read-only, so no count of
 * sleepers tells the publisher it could skip it). Only one process or
 * thread may publish to a mailbox at a time (if a publisher dies half-way,
 * readers keep reading the message before, and the next publish repairs
 * the slot). Returns 0,
 * -EMSGSIZE if len exceeds the capacity, -EBADF for a read-only mailbox, or
 * -EBADMSG if the header's message number is past any real count. If seqp
 * is not NULL it receives the new message's sequence number.
 */
SHMFS_PUBLIC int shmfs_mailbox_publish(struct shmfs_mailbox *mb, const void *buf, size_t len,
				       uint64_t *seqp);

/*
 * Copy the newest message into buf[0..cap), its length to *lenp and its
 * sequence number to *seqp (either pointer may be NULL). Retries when the
 * publisher came round to the slot during the copy, so the copy is always
 * one whole message. Returns 0, -ENOMSG if nothing was published yet,
 * -EMSGSIZE if cap is too small (then *lenp and *seqp describe the message,
 * nothing is copied), -EBADMSG if the header's length exceeds the capacity
 * or its counters contradict each other (a process that broke the
 * protocol), or -EAGAIN if no copy came out whole for a second (a
 * publisher that publishes faster than this reader copies, for that long).
 */
SHMFS_PUBLIC int shmfs_mailbox_read(struct shmfs_mailbox *mb, void *buf, size_t cap, size_t *lenp,
				    uint64_t *seqp);

/* What shmfs_mailbox_read_begin() saw; SEQ is the message's number. */
struct shmfs_mailbox_token {
	uint64_t counter;
	uint64_t seq;
};

/*
 * Zero-copy read: point *datap at the newest message inside the mapping and
 * set *lenp to its length, without copying. The bytes are overwritten once
 * the publisher comes round to their slot again, which may be three
 * publishes later or at any moment: inspect them, then call
 * shmfs_mailbox_read_validate() with the same token; only if it returns 0
 * were the bytes seen those of one whole message. Never act on them before
 * it says so (copy what you need, validate, then use the copy).
 * Returns 0, -ENOMSG, -EBADMSG or -EAGAIN as shmfs_mailbox_read() does.
 */
SHMFS_PUBLIC int shmfs_mailbox_read_begin(struct shmfs_mailbox *mb, const void **datap,
					  size_t *lenp, struct shmfs_mailbox_token *tok);

/* 0 if the publisher has not come round to the message's slot since the
 * read_begin() that filled TOK, else -ESTALE (read again). */
SHMFS_PUBLIC int shmfs_mailbox_read_validate(struct shmfs_mailbox *mb,
					     const struct shmfs_mailbox_token *tok);

/* The sequence number of the newest complete message (0: none yet). */
SHMFS_PUBLIC uint64_t shmfs_mailbox_seq(const struct shmfs_mailbox *mb);

/*
 * Block until a message newer than LAST_SEQ is published, or TIMEOUT_MS
 * milliseconds pass (negative: no limit; 0: do not block). Spins for up to
 * 20 microseconds first (a message that comes by then costs the reader no
 * system call), unless the publisher last ran on the reader's own CPU,
 * then waits on a futex in the shared page, so publishers in other
 * processes wake it.
 * Returns 0 if a newer message is there, -ETIMEDOUT, or -EINTR if a signal
 * handler ran.
 */
SHMFS_PUBLIC int shmfs_mailbox_wait(struct shmfs_mailbox *mb, uint64_t last_seq, int timeout_ms);

/* The FNV-1a 64-bit hash of buf[0..len) (the checksum of mailbox format 1,
 * kept for programs that used it; mailboxes no longer compute it). */
SHMFS_PUBLIC uint64_t shmfs_checksum(const void *buf, size_t len);

/* ---------------------------------------------------------------- queue */

/*
 * A queue is a segment holding a bounded ring of variable-size messages:
 * every message is delivered once, in the order it was committed, to one
 * of the consumers. Any number of producers and consumers, in any
 * processes; one of each is the fast case (no system call unless one side
 * sleeps: a side that must wait spins for up to 20 microseconds before it
 * does, unless the other side last ran on its own CPU). Messages are
 * contiguous in memory, so a producer can write one in place
 * (reserve/commit) and a consumer read one in place (read/release).
 *
 * A process killed at any moment leaves the queue usable: the next
 * producer or consumer takes over from it (after up to 50 ms). At most the
 * message it had in hand is lost, never delivered torn, and consumers are
 * told (-EOWNERDEAD). Whatever another process with write access writes
 * into the header, the library never reads or writes outside the queue,
 * never loops for ever, and reports -EBADMSG.
 *
 * TIMEOUT_MS everywhere: negative waits without limit, 0 does not wait
 * (-EAGAIN if it would have to), positive waits that many milliseconds at
 * most (-ETIMEDOUT). A wait is on a futex in the shared page: a process on
 * the other side wakes it.
 */
struct shmfs_queue;

/* Bytes of header before the ring, on a machine with 4 KiB pages (one page
 * in general). */
#define SHMFS_QUEUE_HEADER_SIZE 4096

/*
 * Open queue NAME. FLAGS are those of shmfs_segment_open(). When the
 * segment is created (or exists but was never set up), it gets a ring of
 * CAPACITY bytes rounded up to whole pages; CAPACITY 0 opens an existing
 * queue. Each message takes its length rounded up to 8, plus 8 bytes.
 *
 * Returns 0, the errors of shmfs_segment_open(), -EPROTO if the segment is
 * not a queue, -EPROTONOSUPPORT if it is a queue of another format version,
 * -EFBIG if its ring is smaller than CAPACITY, -EAGAIN if it is not set up
 * yet and this opener cannot do it (SHMFS_RDONLY, or CAPACITY 0).
 */
SHMFS_PUBLIC int shmfs_queue_open(const char *name, size_t capacity, int flags,
				  struct shmfs_queue **qp);

/* Unmap and close the queue. NULL is fine. */
SHMFS_PUBLIC void shmfs_queue_close(struct shmfs_queue *q);

/* Bytes in the ring, and the largest message it takes (8 less). */
SHMFS_PUBLIC size_t shmfs_queue_capacity(const struct shmfs_queue *q);
SHMFS_PUBLIC size_t shmfs_queue_max_message(const struct shmfs_queue *q);

/* The segment under the queue. */
SHMFS_PUBLIC struct shmfs_segment *shmfs_queue_segment(const struct shmfs_queue *q);

/* How many messages dead producers and consumers have lost on this queue
 * since it was created. */
SHMFS_PUBLIC uint64_t shmfs_queue_lost(const struct shmfs_queue *q);

/*
 * Append buf[0..len), waiting for room. Returns 0, -EMSGSIZE (larger than
 * shmfs_queue_max_message()), -EAGAIN, -ETIMEDOUT, -EINTR, -EBADF (opened
 * read-only), -EDEADLK (this thread has a reservation open) or -EBADMSG.
 */
SHMFS_PUBLIC int shmfs_queue_send(struct shmfs_queue *q, const void *buf, size_t len,
				  int timeout_ms);

/*
 * Take the oldest message: copy it into buf[0..cap) and set *lenp (if not
 * NULL) to its length. Returns 0, -EAGAIN or -ETIMEDOUT (empty), -EMSGSIZE
 * (cap too small: *lenp says how much is needed and the message stays),
 * -EOWNERDEAD (a dead process lost messages since this queue object last
 * looked; nothing is taken, call again), -EINTR, -EBADF (read-only),
 * -EDEADLK (this thread has a zero-copy read open) or -EBADMSG.
 */
SHMFS_PUBLIC int shmfs_queue_recv(struct shmfs_queue *q, void *buf, size_t cap, size_t *lenp,
				  int timeout_ms);

/*
 * Zero-copy send: wait for room for a message of up to LEN bytes and point
 * *bufp at it, inside the ring. Write the message there, then call
 * shmfs_queue_commit() with its length (at most LEN) to deliver it, or
 * shmfs_queue_cancel() to drop it. Other producers wait meanwhile; the
 * same thread must commit or cancel. Errors as shmfs_queue_send().
 */
SHMFS_PUBLIC int shmfs_queue_reserve(struct shmfs_queue *q, size_t len, void **bufp,
				     int timeout_ms);
SHMFS_PUBLIC int shmfs_queue_commit(struct shmfs_queue *q, size_t len);
SHMFS_PUBLIC int shmfs_queue_cancel(struct shmfs_queue *q);

/*
 * Zero-copy receive: point *datap at the oldest message, inside the ring,
 * and set *lenp to its length. It stays valid, and other consumers wait,
 * until shmfs_queue_release() consumes it (same thread). Errors as
 * shmfs_queue_recv(), except -EMSGSIZE.
 */
SHMFS_PUBLIC int shmfs_queue_read(struct shmfs_queue *q, const void **datap, size_t *lenp,
				  int timeout_ms);
SHMFS_PUBLIC int shmfs_queue_release(struct shmfs_queue *q);

/* ----------------------------------------------------------------- lock */

/* Modes of shmfs_segment_lock(). */
enum shmfs_lock_mode {
	SHMFS_LOCK_SHARED = 1,
	SHMFS_LOCK_EXCLUSIVE = 2,
};

/*
 * Take a whole-segment advisory lock: flock() on the segment's descriptor,
 * so `flock(1)` and other programs using flock() on the same file take part,
 * and the kernel drops the lock if its holder dies. The lock belongs to this
 * segment object (not to a thread): threads sharing one object share the
 * lock; open the segment once per thread for mutual exclusion between
 * threads. Taking a lock already held by this object converts it.
 * Returns 0, -EWOULDBLOCK (NONBLOCK and the lock is busy), -EINTR, or
 * -EINVAL for a bad mode.
 */
SHMFS_PUBLIC int shmfs_segment_lock(struct shmfs_segment *seg, int mode, bool nonblock);
SHMFS_PUBLIC int shmfs_segment_unlock(struct shmfs_segment *seg);

/*
 * Robust, process-shared pthread mutexes placed inside a segment (for
 * instance in a struct at the start of a view). Initialise one exactly
 * once, when the segment is created, for example while holding
 * shmfs_segment_lock(seg, SHMFS_LOCK_EXCLUSIVE, false).
 *
 * shmfs_mutex_lock() and shmfs_mutex_trylock() return 0 with the mutex
 * held. If its previous owner died holding it, the mutex is made consistent
 * again and *recovered (if not NULL) is set to true, so the caller can
 * repair the data it guards; otherwise *recovered is set to false.
 * Errors: -EBUSY (trylock), -ENOTRECOVERABLE, or another pthread errno.
 */
SHMFS_PUBLIC int shmfs_mutex_init(pthread_mutex_t *mutex);
SHMFS_PUBLIC int shmfs_mutex_lock(pthread_mutex_t *mutex, bool *recovered);
SHMFS_PUBLIC int shmfs_mutex_trylock(pthread_mutex_t *mutex, bool *recovered);
SHMFS_PUBLIC int shmfs_mutex_unlock(pthread_mutex_t *mutex);
SHMFS_PUBLIC int shmfs_mutex_destroy(pthread_mutex_t *mutex);

#ifdef __cplusplus
}
#endif

#endif
