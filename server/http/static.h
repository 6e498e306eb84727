/*
 * server/http/static.h — the browser UI's files from the web directory: / is
 * index.html, /rate and /admin their pages, any other /<dir>/<name>.<ext>
 * with a known extension as is.  No directory traversal: every path segment
 * is [A-Za-z0-9_.-] and does not start with a dot.
 */
#ifndef RLHFD_SERVER_STATIC_H
#define RLHFD_SERVER_STATIC_H

#include <microhttpd.h>

struct request;

/* Sets the directory files are served from (copied). */
int static_init(const char *web_dir);
/* Answers a GET for r->url from the web directory, or a plain 404. */
enum MHD_Result static_serve(struct request *r);

#endif
