/* meter-report - the warehouse's benchmark figures as one self-contained
 * HTML page (and its tables as CSV). */
#define _POSIX_C_SOURCE 200809L
#include "../lib/meter.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PARTICIPANTS 32

struct opts {
	struct mt_report_opts r;
	const char *participants[MAX_PARTICIPANTS];
	const char *output;
	int quiet;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: meter-report [-q] [-p participant]... [-t type] [-Q quantity]\n"
	    "                    [--year yyyy | --from yyyy-mm-dd --to yyyy-mm-dd]\n"
	    "                    [-o report.html] [--csv dir] [--title text]\n"
	    "                    [--max-rows n] [--max-buildings n] warehouse\n");
}

static int bad(const char *opt, const char *val, const char *want)
{
	mt_warnx("bad value for %s: \"%s\" (%s)", opt, val, want);
	return -1;
}

/* A bare date, as the library reads one (real days only). */
static int is_date(const char *s)
{
	struct mt_err ignored;
	enum mt_tsform form;
	mt_time_t t;

	return strlen(s) == 10 && mt_time_parse(s, 10, &t, &form, &ignored) == 0;
}

static int count_opt(const char *opt, const char *val, long *out)
{
	double v;

	if (mt_parse_double(val, &v) < 0 || v < 0 || v > 1e6 || v != (long)v)
		return bad(opt, val, "a whole number from 0 to 1000000");
	*out = (long)v;
	return 0;
}

/* UTF-8 of characters XML allows, without control characters: what the
 * page can carry as its title. */
static int plain_text(const char *s)
{
	size_t n;

	for (; *s; s += n)
		if ((n = mt_utf8_char(s)) == 0 || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

static int check_args(struct opts *o)
{
	static const char *const quantities[] = { "total", "electricity", "gas",
	    "heat", "cooling" };
	size_t i;

	if (o->r.year != NULL && (strlen(o->r.year) != 4 ||
	    strspn(o->r.year, "0123456789") != 4 || atoi(o->r.year) < 1900))
		return bad("--year", o->r.year, "a year such as 2024");
	if ((o->r.from != NULL) != (o->r.to != NULL)) {
		mt_warnx("--from and --to go together: give both dates of the range");
		return -1;
	}
	if (o->r.from != NULL && o->r.year != NULL) {
		mt_warnx("--year or --from/--to: one period at a time");
		return -1;
	}
	if (o->r.from != NULL && !is_date(o->r.from))
		return bad("--from", o->r.from, "a date such as 2024-01-31");
	if (o->r.to != NULL && !is_date(o->r.to))
		return bad("--to", o->r.to, "a date such as 2024-12-31");
	if (o->r.from != NULL && strcmp(o->r.from, o->r.to) > 0) {
		mt_warnx("--from %s is after --to %s", o->r.from, o->r.to);
		return -1;
	}
	for (i = 0; o->r.quantity != NULL && i < 5; i++)
		if (strcmp(o->r.quantity, quantities[i]) == 0)
			break;
	if (i == 5)
		return bad("-Q", o->r.quantity,
		    "total, electricity, gas, heat or cooling");
	for (i = 0; i < o->r.nparticipants; i++)
		if (!mt_id_valid(o->participants[i]))
			return bad("-p", o->participants[i], "a participant id");
	if (o->output != NULL && *o->output == '\0')
		return bad("-o", o->output, "a file name");
	if (o->r.csv_dir != NULL && *o->r.csv_dir == '\0')
		return bad("--csv", o->r.csv_dir, "a directory name");
	if (o->r.title != NULL && (!plain_text(o->r.title) || *o->r.title == '\0'))
		return bad("--title", o->r.title, "UTF-8 text without control characters");
	if (o->r.type != NULL && (!plain_text(o->r.type) || *o->r.type == '\0'))
		return bad("-t", o->r.type, "UTF-8 text without control characters");
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_YEAR = 256, O_FROM, O_TO, O_CSV, O_TITLE, O_ROWS, O_BUILDINGS,
	    O_VERS };
	static const struct option longopts[] = {
		{ "csv", required_argument, NULL, O_CSV },
		{ "from", required_argument, NULL, O_FROM },
		{ "help", no_argument, NULL, 'h' },
		{ "max-buildings", required_argument, NULL, O_BUILDINGS },
		{ "max-rows", required_argument, NULL, O_ROWS },
		{ "output", required_argument, NULL, 'o' },
		{ "participant", required_argument, NULL, 'p' },
		{ "quantity", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "title", required_argument, NULL, O_TITLE },
		{ "to", required_argument, NULL, O_TO },
		{ "type", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, O_VERS },
		{ "year", required_argument, NULL, O_YEAR },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->r.max_rows = 100;
	o->r.max_buildings = 20;
	o->r.participants = o->participants;
	while ((c = getopt_long(argc, argv, "ho:p:Q:qt:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); exit(mt_finish_stdout(MT_EXIT_OK));
		case 'o': o->output = optarg; break;
		case 'p':
			if (o->r.nparticipants == MAX_PARTICIPANTS) {
				mt_warnx("at most %d participants (-p) at once",
				    MAX_PARTICIPANTS);
				return -1;
			}
			o->participants[o->r.nparticipants++] = optarg;
			break;
		case 'Q': o->r.quantity = optarg; break;
		case 'q': o->quiet = 1; break;
		case 't': o->r.type = optarg; break;
		case O_YEAR: o->r.year = optarg; break;
		case O_FROM: o->r.from = optarg; break;
		case O_TO: o->r.to = optarg; break;
		case O_CSV: o->r.csv_dir = optarg; break;
		case O_TITLE: o->r.title = optarg; break;
		case O_ROWS:
			if (count_opt("--max-rows", optarg, &o->r.max_rows) < 0)
				return -1;
			break;
		case O_BUILDINGS:
			if (count_opt("--max-buildings", optarg, &o->r.max_buildings) < 0)
				return -1;
			break;
		case O_VERS:
			printf("meter-report %s\n", MT_VERSION);
			exit(mt_finish_stdout(MT_EXIT_OK));
		default: return -1;
		}
	}
	if (optind != argc - 1) {
		mt_warnx(optind >= argc ? "no warehouse given" :
		    "one warehouse at a time");
		return -1;
	}
	o->r.source = argv[optind];
	return check_args(o);
}

/* --csv DIR is made if missing (mode 0750, as the platform's others). */
static int csv_dir(const char *dir)
{
	char path[4096];
	struct mt_err err;
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		mt_warnx("--csv %s is not a directory: name one (it is made if "
		    "missing)", dir);
		return -2;
	}
	snprintf(path, sizeof path, "%s", dir);
	if (mt_mkdirs(path, &err) < 0) {
		mt_diag_err(&err);
		return -1;
	}
	return 0;
}

/* out must name a regular file (or a new one) in a directory that exists
 * and can be written, and never the warehouse: said before the report is
 * computed. */
static int check_output(const char *opt, const char *out, const char *warehouse)
{
	char dir[4096];
	const char *slash = strrchr(out, '/');
	struct stat st, wh;

	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) + 1 : 1,
	    slash ? out : ".");
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		mt_warnx("%s %s: no such directory %s", opt, out, dir);
		return -1;
	}
	if (lstat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
		mt_warnx("%s %s is a directory: name a file", opt, out);
		return -1;
	}
	if (lstat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
		mt_warnx("%s %s is not a regular file (%s): name a file; the page is "
		    "replaced, never written through a link", opt, out,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "a device, socket or FIFO");
		return -1;
	}
	if (access(dir, W_OK) != 0) {
		mt_warnx("%s %s: cannot write in %s: %s", opt, out, dir, strerror(errno));
		return -1;
	}
	if (stat(out, &st) == 0 && stat(warehouse, &wh) == 0 &&
	    st.st_dev == wh.st_dev && st.st_ino == wh.st_ino) {
		mt_warnx("%s %s is the warehouse itself: name another file", opt, out);
		return -1;
	}
	return 0;
}

/* --csv DIR: the files it would replace are checked like -o. */
static int check_csv(const char *dir, const char *warehouse)
{
	static const char *const names[] = { "ranking", "findings", "monthly",
	    "profile", "signature", "coverage", "baseline" };
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s.csv", dir, names[i]);
		if (check_output("--csv", path, warehouse) < 0)
			return -1;
	}
	return 0;
}

static int write_report(struct mt_db *db, const struct opts *o)
{
	struct mt_err err;
	char *tmp = NULL;
	FILE *out = stdout;

	if (o->output != NULL && (out = mt_atomic_open(o->output, &tmp, &err)) == NULL) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	if (mt_report_write(db, &o->r, out, &err) < 0) {
		mt_diag_err(&err);
		if (tmp != NULL)
			mt_atomic_abandon(out, tmp);
		return err.status == MT_EXIT_USAGE ? MT_EXIT_USAGE : MT_EXIT_IO;
	}
	if (o->output == NULL)
		return MT_EXIT_OK;
	if (mt_atomic_commit(out, tmp, o->output, &err) < 0) {
		mt_diag_err(&err);
		return MT_EXIT_IO;
	}
	if (!o->quiet)
		mt_warnx("wrote %s", o->output);
	return MT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct mt_err err;
	struct mt_db *db;
	int status;

	memset(&o, 0, sizeof o);
	mt_cli_init(argv);
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return MT_EXIT_USAGE;
	}
	if (o.output != NULL && check_output("-o", o.output, o.r.source) < 0)
		return MT_EXIT_USAGE;
	if ((db = mt_db_open_existing(o.r.source, &err)) == NULL) {
		mt_diag_err(&err);
		return err.status == MT_EXIT_USAGE ? MT_EXIT_USAGE : MT_EXIT_IO;
	}
	/* the CSV directory is made only for a warehouse that opened */
	if (o.r.csv_dir != NULL && ((status = csv_dir(o.r.csv_dir)) < 0 ||
	    check_csv(o.r.csv_dir, o.r.source) < 0)) {
		mt_db_close(db);
		return status == -1 ? MT_EXIT_IO : MT_EXIT_USAGE;
	}
	status = write_report(db, &o);
	mt_db_close(db);
	return mt_finish_stdout(status);
}
