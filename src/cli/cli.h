/* cli: the client subcommands of the braid binary (trace, logs, doctor,
 * ingest) that talk to a running daemon over HTTP, and their terminal
 * rendering. Each returns a process exit code: 0 success, 1 a finding or not
 * found, 2 usage error, 3 cannot reach the server. Never exits the process. */
#ifndef BRAID_CLI_H
#define BRAID_CLI_H

#include "../util/util.h"

int cli_trace(int argc, char **argv);
int cli_logs(int argc, char **argv);
/* braid ingest FILE...|-: parses log files like the follower and sends the
 * records to --otlp (OTLP/HTTP protobuf). Same exit codes. */
int cli_ingest(int argc, char **argv);
/* braid doctor [--since 1h] [--service S] [--json] [--server URL]: the
 * correlation health report (GET /api/v1/correlation). 0 when every
 * threshold holds, 1 when one does not; 2 and 3 as above. */
int cli_doctor(int argc, char **argv);

/* Renders a /api/v1/traces/{id} JSON document as a terminal waterfall with
 * each span's log lines under it. `width` is the bar width in columns; color
 * adds ANSI colors. Returns 0, or BRAID_EINVAL when the document is not a
 * trace. Appends to out. */
int cli_render_trace(const uint8_t *json, size_t n, int width, bool color, buf *out);

/* Renders a /api/v1/correlation JSON document as the readable report: a
 * headline with the verdict, one block per finding (kind, service, count of
 * total and share, field / metric / caller, examples, what to change), then
 * one table row per service. color adds ANSI colors. Sets *exit_code to 0
 * when the document says "ok", 1 when not. Returns 0, or BRAID_EINVAL when
 * the document is not a correlation report. Appends to out. */
int cli_render_doctor(const uint8_t *json, size_t n, bool color, buf *out, int *exit_code);

/* GETs url; fills body and *status. Returns 0, or BRAID_EIO when the server
 * cannot be reached (the reason goes to err). The caller frees body. */
int cli_http_get(const char *url, buf *body, long *status, char *err, size_t errlen);

#endif
