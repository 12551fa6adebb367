// SPDX-License-Identifier: GPL-2.0
/*
 * Option parsing for every subcommand: the common options, the options core
 * adds from the descriptor, positional arguments, and the command's own
 * options (its argp table and parse hook).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

enum {
	OPT_BUFFER = 0x1000,
};

static const struct argp_option common_options[] = {
	{ "json", 'j', NULL, 0, "Print JSON Lines (one object per line) instead of text", 0 },
	{ "output", 'o', "FILE", 0, "Write data to FILE instead of standard output", 0 },
	{ "timestamp", 'T', NULL, 0, "Include wall-clock time (HH:MM:SS) in text output", 0 },
	{ "verbose", 'v', NULL, 0, "Show attach choices and libbpf's messages", 0 },
	{},
};

static const struct argp_option stream_options[] = {
	{ "duration", 'd', "SECONDS", 0, "Trace this long (e.g. 30, 90s, 5m, 1h), then stop", 0 },
	{ "buffer", OPT_BUFFER, "SIZE", 0,
	  "Ring buffer size (e.g. 512K, 16M; default 4M, tcpretrans 1M, oom 256K): raise it if "
	  "events are lost",
	  0 },
	{},
};

/* "16M", "512k", "4096": bytes; 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *s == '-')
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	return *end ? 0 : v;
}

uint64_t kt_arg_u64(struct argp_state *state, const char *opt, const char *arg, uint64_t min,
		    uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max) {
		argp_error(state, "invalid value for %s: '%s' (expected an integer from %" PRIu64
				  " to %" PRIu64 ")",
			   opt, arg, min, max);
		return 0;
	}
	return v;
}

/* A duration in seconds: "10", "10s", "2m", "1h". */
static uint64_t parse_seconds(struct argp_state *state, const char *what, const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!errno && end != arg && *arg != '-') {
		if (!strcmp(end, "") || !strcmp(end, "s"))
			;
		else if (!strcmp(end, "m"))
			v *= 60;
		else if (!strcmp(end, "h"))
			v *= 3600;
		else
			end = NULL;
		if (end && v > 0 && v <= 365ULL * 86400)
			return v;
	}
	argp_error(state, "invalid %s '%s': expected a positive number of seconds (or with s, m, h)",
		   what, arg);
	return 0;
}

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;

	switch (key) {
	case 'j':
		ctx->o.json = true;
		break;
	case 'o':
		ctx->o.output = arg;
		break;
	case 'T':
		ctx->o.timestamp = true;
		break;
	case 'v':
		ctx->o.verbose++;
		break;
	case 'd':
		ctx->o.duration_s = parse_seconds(state, "--duration", arg);
		break;
	case OPT_BUFFER:
		ctx->o.ringbuf_bytes = parse_size(arg);
		if (ctx->o.ringbuf_bytes < 4096 || ctx->o.ringbuf_bytes > (1ULL << 30))
			argp_error(state, "invalid --buffer '%s': expected a size from 4K to 1G", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct kt_ctx *ctx = state->input;
	const struct kt_cmd *cmd = ctx->cmd;
	error_t r = ARGP_ERR_UNKNOWN;

	if (key == ARGP_KEY_INIT) {
		for (unsigned i = 0; state->root_argp->children && state->root_argp->children[i].argp;
		     i++)
			state->child_inputs[i] = ctx;
	}
	if (cmd->parse)
		r = cmd->parse(key, arg, state);
	if (r != ARGP_ERR_UNKNOWN)
		return r;
	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	switch (cmd->pos) {
	case KT_POS_INTERVAL:
		if (state->arg_num == 0)
			ctx->o.interval_s = parse_seconds(state, "interval", arg);
		else if (state->arg_num == 1)
			ctx->o.count = kt_arg_u64(state, "count", arg, 1, UINT32_MAX);
		else
			argp_error(state, "unexpected argument '%s' (usage: [interval [count]])", arg);
		return 0;
	case KT_POS_DURATION:
		if (state->arg_num == 0)
			ctx->o.duration_s = parse_seconds(state, "duration", arg);
		else
			argp_error(state, "unexpected argument '%s' (usage: [duration])", arg);
		return 0;
	default:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	}
}

int kt_opts_parse(struct kt_ctx *ctx, int argc, char **argv)
{
	const struct kt_cmd *cmd = ctx->cmd;
	struct argp common = { common_options, common_parse };
	struct argp stream = { stream_options, common_parse };
	struct argp_child children[3] = {
		{ &common, 0, "Common options:", 100 },
	};
	const char *args_doc = cmd->args_doc;
	struct argp argp = { cmd->options, top_parse, NULL, cmd->doc, children };

	if (cmd->kind == KT_STREAM)
		children[1] = (struct argp_child){ &stream, 0, NULL, 100 };
	if (!args_doc)
		args_doc = cmd->pos == KT_POS_INTERVAL ? "[interval [count]]"
			 : cmd->pos == KT_POS_DURATION ? "[duration]"
						       : NULL;
	argp.args_doc = args_doc;
	argp_err_exit_status = KT_EXIT_USAGE;
	return argp_parse(&argp, argc, argv, 0, NULL, ctx);
}
