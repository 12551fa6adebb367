// SPDX-License-Identifier: GPL-2.0
/*
 * kt-marker: does nothing, under a name that cannot be mistaken for anything
 * else in the guest.  The exec test runs it and looks for its name.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
