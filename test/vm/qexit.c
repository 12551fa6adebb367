// SPDX-License-Identifier: GPL-2.0
/*
 * qexit: report a verdict to the host through qemu's isa-debug-exit device.
 *
 * usage: qexit N     (the qemu process exits with status (N << 1) | 1)
 *
 * The guest /init passes the number of failed tests; the host harness decodes
 * the status of qemu.  Writing the port makes qemu quit at once, so this does
 * not return when the device is present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;

	if (n < 0)
		n = 0;
	if (n > 126) /* keep (n << 1) | 1 inside an exit status */
		n = 126;
	if (ioperm(DEBUG_EXIT_PORT, 4, 1)) {
		perror("qexit: ioperm");
		return 1;
	}
	outl((unsigned int)n, DEBUG_EXIT_PORT);
	fprintf(stderr, "qexit: no isa-debug-exit device at 0x%x\n", DEBUG_EXIT_PORT);
	return 1;
}
