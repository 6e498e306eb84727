/*
 * server/http/api_export.h — helpers of the streamed exports, public for tests.
 */
#ifndef RLHFD_SERVER_API_EXPORT_H
#define RLHFD_SERVER_API_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses unix seconds ("1700000000") or ISO-8601 ("2024-05-01",
 * "2024-05-01T12:30", "2024-05-01T12:30:05", optional ".123", optional "Z" or
 * "+02:00"/"-0130"; no zone means UTC) into *out.  False when it is neither. */
bool export_parse_time(const char *s, int64_t *out);

/*
 * Appends one CSV field (RFC 4180: quoted, with quotes doubled, when it holds
 * a comma, quote, CR or LF) of len bytes to buf at *pos, growing buf (*cap).
 * Returns 0 or -1 (out of memory).
 */
int export_csv_field(char **buf, size_t *pos, size_t *cap, const char *s, size_t len);

/*
 * export_csv_field for a text cell a person or a model wrote: a cell that
 * starts with = + - @, a tab or a CR is prefixed with ' so a spreadsheet shows
 * it as text instead of running it as a formula (CSV injection; OWASP's
 * advice).  Returns 0 or -1 (out of memory).
 */
int export_csv_text(char **buf, size_t *pos, size_t *cap, const char *s, size_t len);

#endif
