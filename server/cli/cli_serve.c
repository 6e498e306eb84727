/*
 * server/cli/cli_serve.c — `rlhfd serve`: opens (and migrates) the database in the
 * data directory, creates the first admin on an empty database, starts the
 * HTTP server and runs until SIGINT or SIGTERM, then stops cleanly: the
 * daemon finishes its connections and joins its threads before the database
 * connections are closed.
 *
 * One server per data directory: it holds an exclusive lock on
 * <data>/rlhfd.lock for its lifetime, taken before the database is opened.  A
 * second server on the same directory would otherwise mark the first one's
 * running job interrupted at its start (and queue an auto-training job
 * again) before it found its port taken; it exits instead.
 */
#include "server/cli/cli.h"
#include "server/http/http.h"
#include "server/worker/worker.h"
#include "db/config.h"
#include "db/db.h"
#include "db/groupcommit.h"
#include "db/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Takes the data directory's lock for the life of the process (the
 * descriptor is left open on purpose): 0, or -1 after saying why. */
static int lock_data_dir(const char *data)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/rlhfd.lock", data) >= (int)sizeof path) {
		fprintf(stderr, "rlhfd serve: data directory path too long: '%s'\n", data);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rlhfd serve: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, "rlhfd serve: data directory '%s' is in use by another rlhfd "
				"serve (it holds '%s'); stop that one first or use another --data\n",
				data, path);
		else
			fprintf(stderr, "rlhfd serve: cannot lock '%s': %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/* mkdir -p with mode 0700 for the parts it creates; the last part is made
 * 0700 if it existed. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -1;
	/* the data directory itself is private even when it already existed */
	struct stat st;
	return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) && chmod(buf, 0700) == 0 ? 0 : -1;
}

/* The web/ folder next to the executable. */
static void default_web_dir(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0) {
		snprintf(out, n, "web");
		return;
	}
	exe[len] = 0;
	snprintf(out, n, "%s/web", dirname(exe));
}

/* The request body cap: --max-body (max_body > 0) wins and is stored in the
 * config, else the config's max_body_bytes, else 8 MiB. */
static int64_t body_cap(struct db *db, int max_body)
{
	int64_t cap = 8 << 20;
	if (max_body > 0) {
		json_t *v = json_integer(max_body);
		if (db_begin(db) < 0 || db_config_set(db, "max_body_bytes", v) < 0 || db_commit(db) < 0)
			db_rollback(db);
		json_decref(v);
		cap = max_body;
	} else if (db_config_int(db, "max_body_bytes", cap, &cap) < 0 || cap < 1024) {
		cap = 8 << 20;
	}
	return cap;
}

int cmd_serve(int argc, char **argv)
{
	const char *data = "data", *web = NULL, *host = NULL, *durability = "full";
	/*
	 * HTTP threads, by measurement (wrk, 32 connections posting ratings, on
	 * 2 cores): SQLite runs one write at a time whatever the thread count,
	 * and every commit by another connection empties a connection's page
	 * cache, so on 2 cores one thread beat two (12-13k vs 11k requests/s,
	 * p99 11-14 ms vs 24 ms) and thread-per-connection was worst (9k, 33 ms).
	 * Larger machines get half their cores for the read-heavy requests.
	 */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int port = 8080, threads = cores > 2 ? (int)(cores / 2) : 1, max_body = 0;
	bool verbose = false;
	const struct cli_opt opts[] = {
		{ "port", CLI_INT, &port, "TCP port (default 8080; 0 = any free port)" },
		{ "host", CLI_STR, &host, "address to listen on (default: all)" },
		{ "data", CLI_STR, &data, "directory of the database, models, admin token (./data)" },
		{ "web", CLI_STR, &web, "directory of the web UI (default: web/ beside rlhfd)" },
		{ "threads", CLI_INT, &threads, "HTTP threads (default: 1, half the cores above 2; 0 = one per connection)" },
		{ "max-body", CLI_INT, &max_body, "largest request body in bytes (default 8 MiB, or the config)" },
		{ "durability", CLI_STR, &durability, "full (default): a rating answered 2xx survives a power "
		  "cut (fsync'd, group commit); normal: it survives the process being killed, not a power cut" },
		{ "verbose", CLI_FLAG, &verbose, "log one line per request to stderr" },
		{ NULL, CLI_FLAG, NULL, NULL },
	};
	int rc = cli_parse(argc, argv, opts, "[--port 8080] [--data DIR] [--web DIR] [--threads N] "
			   "[--max-body BYTES] [--durability full|normal] [--verbose]", NULL, 0, NULL);
	if (rc != 0)
		return cli_exit_code(rc);
	if (port < 0 || port > 65535 || threads < 0 || threads > 256 ||
	    (max_body != 0 && max_body < 1024)) {
		fprintf(stderr, "rlhfd serve: bad value: --port 0..65535, --threads 0..256, "
			"--max-body >= 1024\n");
		return 2;
	}
	bool full = strcmp(durability, "full") == 0;
	if (!full && strcmp(durability, "normal") != 0) {
		fprintf(stderr, "rlhfd serve: bad value: --durability must be 'full' or 'normal'\n");
		return 2;
	}

	/* SIGINT/SIGTERM are taken by sigwait at the end: blocked before any
	 * thread starts (checkpointer, libmicrohttpd), which inherit the mask, so
	 * none of them is picked to die of the signal */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (make_dirs(data) < 0) {
		fprintf(stderr, "rlhfd serve: cannot create data directory '%s': %s\n", data, strerror(errno));
		return 1;
	}
	if (lock_data_dir(data) < 0)
		return 1;
	char db_path[PATH_MAX], web_dir[PATH_MAX];
	snprintf(db_path, sizeof db_path, "%s/rlhfd.db", data);
	if (db_pool_init(db_path) < 0)
		return 1;
	struct db *db = db_pool_get();
	if (!db)
		return 1;
	if (db_migrate(db, NULL) < 0 ||
	    auth_bootstrap_admin(db, data, getenv("RLHFD_ADMIN_TOKEN")) < 0) {
		db_pool_close_all();
		return 1;
	}
	atomic_store(&http_max_body, body_cap(db, max_body));
	/* fsyncs move off the request path; the HTTP threads open their
	 * connections after this, without automatic checkpoints */
	if (db_checkpointer_start(db_path, 200) < 0)
		fprintf(stderr, "rlhfd serve: no background checkpoints; commits will checkpoint\n");

	/* --durability full: ratings are written by the group-commit writer,
	 * whose connection fsyncs the WAL at each commit (synchronous=FULL);
	 * normal: each HTTP thread writes them on its own connection
	 * (synchronous=NORMAL: no fsync until the next checkpoint) */
	if (full && db_gc_start(db_path, true) < 0) {
		db_checkpointer_stop();
		db_pool_close_all();
		return 1;
	}

	if (web)
		snprintf(web_dir, sizeof web_dir, "%s", web);
	else
		default_web_dir(web_dir, sizeof web_dir);

	/* jobs left running by a previous process are marked interrupted, then
	 * the worker thread starts on the queue */
	if (worker_start(data) < 0) {
		db_gc_stop();
		db_checkpointer_stop();
		db_pool_close_all();
		return 1;
	}

	struct http_options hopt = { .host = host, .port = port, .threads = threads,
				     .web_dir = web_dir, .verbose = verbose };
	int bound = http_start(&hopt);
	if (bound < 0) {
		worker_stop();
		db_gc_stop();
		db_checkpointer_stop();
		db_pool_close_all();
		return 1;
	}
	fprintf(stderr, "rlhfd: listening on http://%s:%d/ (data '%s', web '%s', %d %s)\n",
		host ? host : "0.0.0.0", bound, data, web_dir, threads,
		threads == 0 ? "= a thread per connection" : threads == 1 ? "HTTP thread" : "HTTP threads");
	if (full)
		fprintf(stderr, "rlhfd: durability full: a rating is flushed to disk before its 2xx "
			"(group commit; ratings writer PRAGMA synchronous=%s)\n", db_gc_synchronous());
	else
		fprintf(stderr, "rlhfd: durability normal: a rating answered 2xx survives a kill of "
			"the process, not a power cut (PRAGMA synchronous=%s)\n", db_synchronous_name(db));

	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "rlhfd: %s, shutting down\n", sig == SIGINT ? "interrupted" : "terminated");
	http_stop();
	db_gc_stop();
	worker_stop();
	db_checkpointer_stop();
	db_pool_close_all();
	return 0;
}
