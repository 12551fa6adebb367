// SPDX-License-Identifier: GPL-2.0
/*
 * sleepstorm: nanosleep() for 1 us as fast as possible; ops counts the
 * sleeps, each one hrtimer expiry (hrtimer_wakeup): the events of
 * `ktrace timer`. The timer slack (50 us for an ordinary task) sets the pace.
 */
#include "storm.h"

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 1000 };
	struct storm s;
	uint64_t ops = 0;

	if (storm_init(&s, argc, argv))
		return 2;
	do {
		if (nanosleep(&ts, NULL)) {
			perror("sleepstorm: nanosleep");
			return 1;
		}
		ops++;
	} while (storm_more(&s, ops));
	storm_report(&s, ops);
	return 0;
}
