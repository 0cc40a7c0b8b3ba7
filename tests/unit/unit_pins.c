// SPDX-License-Identifier: MIT
/*
 * Unit test of the per-user shares (core/pins.h): each user but root
 * stops at its share, all together at the total, a forced pin passes
 * both, and thousands of users coming and going (so that the table
 * grows, and entries are moved up in their runs as others leave) keep
 * their counts exact.
 */
#include "pins.h"
#include "unit.h"

#define USERS 5000

static void check_shares(void)
{
	struct shmfs_pins p;
	int taken = 0;

	shmfs_pins_init(&p, 10, 3);
	for (int i = 0; i < 5; i++)
		taken += shmfs_pins_take(&p, 1000, false);
	CHECK(taken == 3 && shmfs_pins_held(&p, 1000) == 3, "a user stops at its share: %d", taken);
	CHECK(!shmfs_pins_room(&p, 1000) && shmfs_pins_room(&p, 1001), "room for the next user");
	CHECK(shmfs_pins_take(&p, 1000, true) && shmfs_pins_held(&p, 1000) == 4,
	      "a forced pin passes the share");
	for (int i = 0; i < 8; i++)
		taken += shmfs_pins_take(&p, 0, false);
	CHECK(taken == 9 && shmfs_pins_held(&p, 0) == 6, "root has no share, only the total: %d",
	      taken);
	CHECK(!shmfs_pins_room(&p, 1002) && !shmfs_pins_take(&p, 1002, false),
	      "the total is reached for everyone");
	shmfs_pins_give(&p, 1000);
	CHECK(shmfs_pins_held(&p, 1000) == 3 && shmfs_pins_room(&p, 1002), "one given back");
	shmfs_pins_give(&p, 4242);
	CHECK(p.count == 9, "giving what was never taken changes nothing: %u", p.count);
	shmfs_pins_release(&p);
}

static void check_many(void)
{
	struct shmfs_pins p;
	int bad = 0;

	shmfs_pins_init(&p, 4 * USERS, 4);
	for (uid_t u = 1; u <= USERS; u++)
		for (uid_t k = 0; k < u % 4 + 1; k++)
			bad += !shmfs_pins_take(&p, u * 7919, false);
	CHECK(!bad, "%d pins of %d users refused", bad, USERS);
	/* Every third user leaves; the others must keep their counts. */
	for (uid_t u = 3; u <= USERS; u += 3)
		for (uid_t k = 0; k < u % 4 + 1; k++)
			shmfs_pins_give(&p, u * 7919);
	for (uid_t u = 1; u <= USERS; u++)
		bad += shmfs_pins_held(&p, u * 7919) != (u % 3 ? u % 4 + 1 : 0);
	CHECK(!bad, "%d users with a wrong count after others left", bad);
	CHECK(p.nusers == USERS - USERS / 3, "%zu users left", p.nusers);
	shmfs_pins_release(&p);
}

int main(void)
{
	check_shares();
	check_many();
	return check_report("pins");
}
