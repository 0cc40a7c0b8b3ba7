/* SPDX-License-Identifier: MIT */
/*
 * The kernel's FUSE protocol, for the transports that read requests and
 * write replies themselves: the system's <linux/fuse.h>, and what an older
 * copy of it lacks. Debian 12's is protocol 7.38 (Linux 6.1); the daemon
 * runs on newer kernels, whose passthrough (7.40, Linux 6.9) and io_uring
 * (7.42, Linux 6.14) it uses. Each addition below is written from the
 * protocol's documentation (Documentation/filesystems/fuse-passthrough.rst,
 * fuse-io-uring.rst) and stands under a guard, so that a newer system
 * header wins and this file shrinks to the #include as distributions
 * catch up.
 *
 * libfuse's public headers can be included beside this one: libfuse does
 * not install its copy of the protocol (fuse_kernel.h), and the few macros
 * that both define (FUSE_IOCTL_*) have the same values.
 */
#ifndef SHMFS_FUSE_ABI_H
#define SHMFS_FUSE_ABI_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* INIT flags, as one 64-bit set: the high half travels in flags2 (7.36). */
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ULL << 37) /* open replies may name a backing file */
#endif
#ifndef FUSE_OVER_IO_URING
#define FUSE_OVER_IO_URING (1ULL << 41) /* requests may come through io_uring */
#endif

/* An open reply that names a backing file in backing_id (7.40). */
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1 << 7)
#endif

/*
 * Registering a backing file on the connection's /dev/fuse descriptor
 * (7.40): the ioctl answers with its id (> 0), which open replies then
 * name; closing takes the id.
 */
#ifndef FUSE_DEV_IOC_BACKING_OPEN
struct fuse_backing_map {
	int32_t fd;
	uint32_t flags; /* none defined: 0 */
	uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN _IOW(FUSE_DEV_IOC_MAGIC, 1, struct fuse_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)
#endif

/*
 * FUSE over io_uring (7.42). Each ring entry is two buffers: this header
 * and a payload buffer. A request arrives with its fuse_in_header in
 * in_out, its opcode's fixed argument in op_in and the rest in the
 * payload; a reply leaves with its fuse_out_header in in_out and all of
 * its arguments in the payload, whose size is in ring_ent_in_out.
 */
#ifndef FUSE_URING_IN_OUT_HEADER_SZ
#define FUSE_URING_IN_OUT_HEADER_SZ 128
#define FUSE_URING_OP_IN_OUT_SZ 128

struct fuse_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;  /* names the entry in the reply's commit */
	uint32_t payload_sz; /* bytes of the payload buffer in use */
	uint32_t padding;
	uint64_t reserved;
};

struct fuse_uring_req_header {
	char in_out[FUSE_URING_IN_OUT_HEADER_SZ];
	char op_in[FUSE_URING_OP_IN_OUT_SZ];
	struct fuse_uring_ent_in_out ring_ent_in_out;
};

/* The cmd_op of an IORING_OP_URING_CMD on /dev/fuse. */
enum fuse_uring_cmd {
	FUSE_IO_URING_CMD_INVALID = 0,
	FUSE_IO_URING_CMD_REGISTER = 1,		/* give the kernel an entry, wait for a request */
	FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2, /* send a reply, wait for the next request */
};

/* In the 80-byte command area of a 128-byte SQE. */
struct fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid; /* the queue: one per possible CPU, numbered as they are */
	uint8_t padding[6];
};
#endif

/* A request's pages when INIT does not say (the kernel's default). */
#define SHMFS_FUSE_DEFAULT_MAX_PAGES 32

/*
 * Two fields that 7.40 gave a name and a use: the stack depth of backing
 * files in fuse_init_out (was unused[0]) and the backing id in
 * fuse_open_out (was padding). Set through these, whichever the header is.
 */
static inline void shmfs_fuse_init_out_stack_depth(struct fuse_init_out *out, uint32_t depth)
{
#if FUSE_KERNEL_MINOR_VERSION >= 40
	out->max_stack_depth = depth;
#else
	out->unused[0] = depth;
#endif
}

static inline void shmfs_fuse_open_out_backing(struct fuse_open_out *out, int32_t id)
{
#if FUSE_KERNEL_MINOR_VERSION >= 40
	out->backing_id = id;
#else
	out->padding = (uint32_t)id;
#endif
}

/* What INIT offers, as one set (flags2 counts only with FUSE_INIT_EXT). */
static inline uint64_t shmfs_fuse_init_in_flags(const struct fuse_init_in *in)
{
	if (!(in->flags & FUSE_INIT_EXT))
		return in->flags;
	return in->flags | (uint64_t)in->flags2 << 32;
}

/* Ask, in the INIT reply, for flags (any of the 64). */
static inline void shmfs_fuse_init_out_want(struct fuse_init_out *out, uint64_t flags)
{
	out->flags |= (uint32_t)flags;
	if (flags >> 32) {
		out->flags |= FUSE_INIT_EXT;
		out->flags2 |= (uint32_t)(flags >> 32);
	}
}

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header layout");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header layout");
_Static_assert(offsetof(struct fuse_init_out, flags2) == 32, "fuse_init_out layout");
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out layout");
_Static_assert(sizeof(struct fuse_open_out) == 16, "fuse_open_out layout");
_Static_assert(sizeof(struct fuse_uring_req_header) == 288, "fuse_uring_req_header layout");
_Static_assert(sizeof(struct fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req layout");

#endif
