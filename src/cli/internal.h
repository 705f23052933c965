/* cli/internal: helpers the client subcommands share (argument values, the
 * server address, URL escaping, the server's error message, one GET). Only
 * src/cli includes it; nothing here prints except cli_print_server_error and
 * cli_print_unreachable, which write one line to stderr. */
#ifndef BRAID_CLI_INTERNAL_H
#define BRAID_CLI_INTERNAL_H

#include "../json/json.h"
#include "cli.h"

#define CLI_DEFAULT_SERVER "http://127.0.0.1:4320"

/* The value of environment variable name, or def when unset or empty. */
const char *cli_env_or(const char *name, const char *def);

/* The value of flag `name` at argv[*i], given as "--name=V" or "--name V"
 * (then *i moves past V); NULL when argv[*i] is not that flag or V is missing. */
const char *cli_arg_value(int *i, int argc, char **argv, const char *name);

/* Appends s to url percent-encoded for a query string. */
void cli_url_escape(buf *url, const char *s);

/* Prints the server's {"error": "..."} message with the status, or the bare
 * status when the body has none. */
void cli_print_server_error(long status, const buf *body);

/* The string member key of object obj, unescaped into ar; "" when absent or
 * not a string. */
bslice cli_jstr(const json_doc *d, uint32_t obj, const char *key, arena *ar);
/* The unsigned integer member key of obj (a number or a numeric string); 0
 * when absent or not one. */
uint64_t cli_ju64(const json_doc *d, uint32_t obj, const char *key);

/* Prints that server cannot be reached (why: err) and what to do. */
void cli_print_unreachable(const char *server, const char *err);

#endif
