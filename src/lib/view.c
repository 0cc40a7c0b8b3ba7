// SPDX-License-Identifier: MIT
/*
 * Views: a mapping of a byte range of a segment, shared with every other
 * process that maps it, and bounds-checked ways to move bytes and strings
 * in and out of it. The mapping starts at the page boundary at or below the
 * asked offset; the view hides the difference.
 */
#include "segment.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct shmfs_view {
	void *map; /* the mapping, page aligned */
	size_t map_len;
	unsigned char *addr; /* the segment's byte OFFSET, inside map */
	size_t length;
	int prot;
};

/* Byte count of a string's length prefix. */
#define STRING_PREFIX 4

static int view_prot(const struct shmfs_segment *seg, int prot)
{
	if (prot & ~(SHMFS_PROT_READ | SHMFS_PROT_WRITE))
		return -EINVAL;
	if (!prot)
		return (seg->flags & SHMFS_RDONLY) ? SHMFS_PROT_READ
						   : SHMFS_PROT_READ | SHMFS_PROT_WRITE;
	if ((prot & SHMFS_PROT_WRITE) && (seg->flags & SHMFS_RDONLY))
		return -EBADF;
	/* A writable mapping is readable on every machine Linux runs on. */
	return prot | SHMFS_PROT_READ;
}

int shmfs_view_map(struct shmfs_segment *seg, uint64_t offset, size_t length, int prot,
		   struct shmfs_view **viewp)
{
	uint64_t size, page = (uint64_t)sysconf(_SC_PAGESIZE), start;
	struct shmfs_view *view;
	int err;

	prot = view_prot(seg, prot);
	if (prot < 0)
		return prot;
	err = shmfs_segment_size(seg, &size);
	if (err)
		return err;
	if (offset >= size)
		return -ERANGE;
	if (!length) {
		if (size - offset > SIZE_MAX)
			return -ENOMEM;
		length = (size_t)(size - offset);
	}
	if (length > size - offset)
		return -ERANGE;
	view = calloc(1, sizeof(*view));
	if (!view)
		return -ENOMEM;
	start = offset - offset % page;
	view->map_len = (size_t)(offset - start) + length;
	view->map = mmap(NULL, view->map_len, prot, MAP_SHARED, seg->fd, (off_t)start);
	if (view->map == MAP_FAILED) {
		err = -errno;
		free(view);
		return err;
	}
	view->addr = (unsigned char *)view->map + (offset - start);
	view->length = length;
	view->prot = prot;
	*viewp = view;
	return 0;
}

void shmfs_view_unmap(struct shmfs_view *view)
{
	if (!view)
		return;
	munmap(view->map, view->map_len);
	free(view);
}

void *shmfs_view_addr(const struct shmfs_view *view)
{
	return view->addr;
}

size_t shmfs_view_length(const struct shmfs_view *view)
{
	return view->length;
}

/* Is [off, off + len) inside the view? Written not to overflow. */
static bool view_holds(const struct shmfs_view *view, size_t off, size_t len)
{
	return off <= view->length && len <= view->length - off;
}

int shmfs_view_write(struct shmfs_view *view, size_t off, const void *buf, size_t len)
{
	if (!(view->prot & SHMFS_PROT_WRITE))
		return -EBADF;
	if (!view_holds(view, off, len))
		return -ERANGE;
	memcpy(view->addr + off, buf, len);
	return 0;
}

int shmfs_view_read(const struct shmfs_view *view, size_t off, void *buf, size_t len)
{
	if (!view_holds(view, off, len))
		return -ERANGE;
	memcpy(buf, view->addr + off, len);
	return 0;
}

/* The length of the UTF-8 sequence led by byte C, 0 if C cannot lead. */
static int utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

int shmfs_utf8_validate(const void *buf, size_t len)
{
	const unsigned char *s = buf;
	size_t i = 0;

	while (i < len) {
		int n = utf8_seq_len(s[i]);

		if (!n || (size_t)n > len - i)
			return -EILSEQ;
		for (int k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return -EILSEQ;
		/* Overlong three- and four-byte forms, surrogates, and code
		 * points past U+10FFFF all show in the second byte. */
		if ((s[i] == 0xe0 && s[i + 1] < 0xa0) || (s[i] == 0xed && s[i + 1] > 0x9f) ||
		    (s[i] == 0xf0 && s[i + 1] < 0x90) || (s[i] == 0xf4 && s[i + 1] > 0x8f))
			return -EILSEQ;
		i += (size_t)n;
	}
	return 0;
}

int shmfs_view_write_string(struct shmfs_view *view, size_t off, const char *str)
{
	size_t len = strlen(str);
	unsigned char prefix[STRING_PREFIX];

	if (!(view->prot & SHMFS_PROT_WRITE))
		return -EBADF;
	if (shmfs_utf8_validate(str, len))
		return -EILSEQ;
	if (!view_holds(view, off, STRING_PREFIX))
		return -ERANGE;
	if (len > UINT32_MAX || !view_holds(view, off + STRING_PREFIX, len))
		return -EMSGSIZE;
	for (int i = 0; i < STRING_PREFIX; i++)
		prefix[i] = (unsigned char)(len >> (8 * i));
	memcpy(view->addr + off + STRING_PREFIX, str, len);
	memcpy(view->addr + off, prefix, STRING_PREFIX);
	return 0;
}

int shmfs_view_read_string(const struct shmfs_view *view, size_t off, char *buf, size_t cap,
			   size_t *lenp)
{
	unsigned char prefix[STRING_PREFIX];
	size_t len = 0;

	if (!view_holds(view, off, STRING_PREFIX))
		return -ERANGE;
	memcpy(prefix, view->addr + off, STRING_PREFIX);
	for (int i = 0; i < STRING_PREFIX; i++)
		len |= (size_t)prefix[i] << (8 * i);
	if (!view_holds(view, off + STRING_PREFIX, len))
		return -ERANGE;
	if (cap < len + 1) {
		if (lenp)
			*lenp = len;
		return -EMSGSIZE;
	}
	/* Check the private copy: the shared bytes may change under us. */
	memcpy(buf, view->addr + off + STRING_PREFIX, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) || shmfs_utf8_validate(buf, len)) {
		buf[0] = '\0';
		return -EILSEQ;
	}
	if (lenp)
		*lenp = len;
	return 0;
}
