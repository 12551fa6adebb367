// SPDX-License-Identifier: GPL-2.0
/*
 * ktrace: one static binary for "why is this box slow / what is it doing",
 * with eBPF. main() only finds the subcommand; core runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktrace.h"
#include "replay.h"
#include "serve.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ktrace [--help] [--version] COMMAND [OPTION...] [ARGS]\n\n"
		   "Production-safe eBPF tracing: block I/O, scheduler, exec/open, TCP, OOM, stacks.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < kt_n_cmds; i++)
		fprintf(f, "  %-12s %s\n", kt_cmds[i]->name, kt_cmds[i]->summary);
	fprintf(f, "  %-12s %s\n", "replay", "Print a run recorded with --record again (text or JSON)");
	fprintf(f, "  %-12s %s\n", "serve",
		"Run summary commands continuously, their metrics at http://127.0.0.1:9464/metrics");
	fprintf(f, "  %-12s %s\n", "help", "Show the help of a command (ktrace help COMMAND)");
	fprintf(f, "\nCommon options (every command): -j/--json, -o/--output FILE, -T/--timestamp, -v/--verbose\n"
		   "Tracing commands: -d/--duration SECONDS, -i/--interval SECONDS (with [interval [count]]);\n"
		   "filters -p PID, -t TID, -u USER, --cgroup PATH, -n NAME; counting mode -c/--summary\n"
		   "Run `ktrace check` first on a new machine; `ktrace COMMAND --help` for details;\n"
		   "man ktrace(8) and ktrace-COMMAND(8).\n"
		   "Exit status: 0 ok, 1 runtime failure, 2 usage error.\n");
}

static int unknown(const char *name)
{
	const struct kt_cmd *s = kt_cmd_suggest(name);

	fprintf(stderr, "ktrace: unknown command '%s'", name);
	if (s)
		fprintf(stderr, "; did you mean '%s'?", s->name);
	fprintf(stderr, "\nRun 'ktrace --help' for the list of commands.\n");
	return KT_EXIT_USAGE;
}

static int run(const struct kt_cmd *cmd, int argc, char **argv, int full_argc, char **full_argv)
{
	char name[64], **args = calloc((size_t)argc + 1, sizeof(*args));
	int rc;

	if (!args)
		return KT_EXIT_FAIL;
	/* argp names the program after argv[0] in usage and errors: "ktrace biolat" */
	snprintf(name, sizeof(name), "ktrace %s", cmd->name);
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	args[0] = name;
	rc = kt_run(cmd, argc, args, full_argc, full_argv);
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	const struct kt_cmd *cmd;
	char *help_argv[3];

	if (argc < 2) {
		usage(stderr);
		return KT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "-?")) {
		usage(stdout);
		return KT_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("ktrace %s\n", KT_VERSION);
		return KT_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return KT_EXIT_OK;
		}
		if (!strcmp(argv[2], "serve")) {
			help_argv[0] = argv[2];
			help_argv[1] = "--help";
			help_argv[2] = NULL;
			return kt_serve_main(2, help_argv, argc, argv);
		}
		cmd = kt_cmd_find(argv[2]);
		if (!cmd)
			return unknown(argv[2]);
		help_argv[0] = argv[2];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		return run(cmd, 2, help_argv, argc, argv);
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "ktrace: '%s' before a command: options go after it (ktrace COMMAND %s)\n",
			argv[1], argv[1]);
		return KT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "replay"))
		return kt_replay_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return kt_serve_main(argc - 1, argv + 1, argc, argv);
	cmd = kt_cmd_find(argv[1]);
	if (!cmd)
		return unknown(argv[1]);
	return run(cmd, argc - 1, argv + 1, argc, argv);
}
