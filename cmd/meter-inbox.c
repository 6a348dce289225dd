/* meter-inbox - take a participant's inbox into the platform's stage, and
 * move staged files to done/ or failed/, never following a link.  The
 * rules live in lib/inbox.c and meter-inbox(1); meter-hourly(1) calls it. */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-inbox [-q] [--max-size size] take inbox stage\n"
	    "       meter-inbox done inbox stage\n"
	    "       meter-inbox fail inbox stage name reason\n");
}

static int parse_args(int argc, char **argv, int *quiet, size_t *max_size)
{
	enum { O_VERS = 256, O_MAX_SIZE };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "max-size", required_argument, NULL, O_MAX_SIZE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, O_VERS },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'q': *quiet = 1; break;
		case O_MAX_SIZE:
			if (mt_parse_size(optarg, max_size) < 0) {
				mt_warnx("bad value for --max-size: \"%s\" (a size such as 64M "
				    "or 1G, up to 4G)", optarg);
				return -1;
			}
			break;
		case O_VERS:
			printf("meter-inbox %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: return -1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 3 && ((strcmp(argv[0], "take") == 0 && argc == 3) ||
	    (strcmp(argv[0], "done") == 0 && argc == 3) ||
	    (strcmp(argv[0], "fail") == 0 && argc == 5)))
		return optind;
	mt_warnx(argc == 0 ? "no command given (take, done or fail)" :
	    "bad command or arguments: \"%s\"", argc ? argv[0] : "");
	return -1;
}

static int act(struct mt_inbox *ib, char **argv, int quiet, struct mt_err *err)
{
	long taken, refused;

	if (strcmp(argv[0], "done") == 0)
		return mt_inbox_done(ib, err);
	if (strcmp(argv[0], "fail") == 0)
		return mt_inbox_fail(ib, argv[3], argv[4], err);
	if (mt_inbox_take(ib, &taken, &refused, err) < 0)
		return -1;
	if (!quiet && refused > 0)
		mt_warnx("%s: %ld file%s refused into failed/ (see the .reason beside "
		    "each)", argv[1], refused, refused == 1 ? "" : "s");
	return refused > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct mt_err err;
	struct mt_inbox *ib;
	size_t max_size = 256 * 1024 * 1024;
	int first, quiet = 0, rc;

	mt_cli_init(argv);
	if ((first = parse_args(argc, argv, &quiet, &max_size)) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	argv += first;
	if ((ib = mt_inbox_open(argv[1], argv[2], max_size, &err)) == NULL) {
		mt_diag_err(&err);
		return err.status;
	}
	rc = act(ib, argv, quiet, &err);
	if (rc < 0)
		mt_diag_err(&err);
	mt_inbox_close(ib);
	return mt_finish_stdout(rc < 0 ? err.status : rc > 0 ? MT_EXIT_REJECTS : MT_EXIT_OK);
}
