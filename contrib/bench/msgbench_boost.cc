// SPDX-License-Identifier: MIT
/*
 * shmfs-msgbench's Boost.Interprocess peer: two boost::interprocess::
 * message_queue objects (POSIX shared memory under /dev/shm, a ring of
 * fixed-size slots guarded by a process-shared mutex and condition
 * variables), one each way, with as many bytes of room as the libshmfs
 * queue gets. Every message is copied in and out. Built only where CMake
 * finds the Boost headers (Debian's libboost-dev).
 */
#include "msgbench.h"

#include <boost/interprocess/ipc/message_queue.hpp>

#include <cerrno>
#include <cstdio>
#include <unistd.h>

namespace bip = boost::interprocess;

namespace
{

struct boost_chan {
	bip::message_queue *mq[2] = { nullptr, nullptr };
	char name[2][64];
};

boost_chan *state(struct chan *c)
{
	return static_cast<boost_chan *>(c->peer);
}

int error_of(const bip::interprocess_exception &e)
{
	int err = e.get_native_error();

	return err > 0 ? -err : -EIO;
}

void boost_teardown(struct chan *c)
{
	boost_chan *b = state(c);

	for (int d = 0; d < 2; d++) {
		delete b->mq[d];
		bip::message_queue::remove(b->name[d]);
	}
	delete b;
	c->peer = nullptr;
}

int boost_setup(struct chan *c)
{
	size_t slots = shmfs_msgbench_ring(c->size) / (c->size + 8);
	boost_chan *b = new (std::nothrow) boost_chan;

	if (!b)
		return -ENOMEM;
	c->peer = b;
	for (int d = 0; d < 2; d++) {
		snprintf(b->name[d], sizeof(b->name[d]), "shmfs-msgbench-boost%d.%d", d,
			 (int)getpid());
		bip::message_queue::remove(b->name[d]);
	}
	try {
		for (int d = 0; d < 2; d++)
			b->mq[d] = new bip::message_queue(bip::create_only, b->name[d],
							  slots < 4 ? 4 : slots, c->size);
	} catch (const bip::interprocess_exception &e) {
		boost_teardown(c);
		return error_of(e);
	} catch (...) {
		boost_teardown(c);
		return -ENOMEM;
	}
	return 0;
}

int boost_send(struct chan *c, int dir, uint64_t n)
{
	shmfs_msgbench_stamp(c->buf, c->size, n);
	try {
		state(c)->mq[dir]->send(c->buf, c->size, 0);
	} catch (const bip::interprocess_exception &e) {
		return error_of(e);
	}
	return 0;
}

int boost_recv(struct chan *c, int dir, uint64_t *n)
{
	bip::message_queue::size_type len = 0;
	unsigned int priority;

	try {
		state(c)->mq[dir]->receive(c->buf, c->size, len, priority);
	} catch (const bip::interprocess_exception &e) {
		return error_of(e);
	}
	return len == c->size ? shmfs_msgbench_unstamp(c->buf, c->size, n) : -EBADMSG;
}

} // namespace

extern "C" const struct transport shmfs_msgbench_boost = {
	"boost-mq", boost_setup, boost_send, boost_recv, boost_teardown, false,
};
