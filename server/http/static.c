/*
 * server/http/static.c — static files (see static.h).  Files are sent straight
 * from their descriptor (MHD_create_response_from_fd: MHD owns and closes it).
 */
#include "server/http/static.h"
#include "server/http/http.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *web_dir;

static const struct { const char *ext, *type; } TYPES[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "ico", "image/x-icon" },
	{ "json", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	{ NULL, NULL },
};

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";

int static_init(const char *dir)
{
	free(web_dir);
	web_dir = strdup(dir);
	return web_dir ? 0 : -1;
}

/* Safe relative path for url (without the leading '/'), or NULL. */
static const char *static_path(const char *url, char *buf, size_t n)
{
	if (strcmp(url, "/") == 0)
		return "index.html";
	if (strcmp(url, "/rate") == 0 || strcmp(url, "/rate/") == 0)
		return "rate.html";
	if (strcmp(url, "/admin") == 0 || strcmp(url, "/admin/") == 0)
		return "admin.html";
	if (url[0] != '/' || strlen(url) >= n)
		return NULL;
	const char *p = url + 1;
	int segments = 0;
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 0 || p[0] == '.' || ++segments > 4)
			return NULL;
		for (size_t i = 0; i < len; i++) {
			char c = p[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '_' || c == '-' || c == '.'))
				return NULL;
		}
		p += len;
		if (*p == '/')
			p++;
		else
			break;
	}
	if (url[strlen(url) - 1] == '/')
		return NULL;
	snprintf(buf, n, "%s", url + 1);
	return buf;
}

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return NULL;
	for (int i = 0; TYPES[i].ext; i++)
		if (strcmp(dot + 1, TYPES[i].ext) == 0)
			return TYPES[i].type;
	return NULL;
}

static enum MHD_Result not_found(struct request *r)
{
	static const char page[] = "404 not found\n";
	/* a constant: MHD_RESPMEM_PERSISTENT, nothing to free */
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof page - 1, (void *)page,
								    MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = http_queue(r, 404, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result static_serve(struct request *r)
{
	char rel[512], full[4096];
	const char *path = static_path(r->url, rel, sizeof rel);
	const char *type = path ? type_of(path) : NULL;
	if (!path || !type || !web_dir)
		return not_found(r);
	snprintf(full, sizeof full, "%s/%s", web_dir, path);
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return not_found(r);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return not_found(r);
	}
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	if (strncmp(type, "text/html", 9) == 0) {
		MHD_add_response_header(resp, "Content-Security-Policy", CSP);
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	}
	enum MHD_Result ret = http_queue(r, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}
