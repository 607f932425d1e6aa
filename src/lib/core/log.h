/* The one place that prints diagnostics. Front ends configure it; library
 * code returns cell_error and never calls this, except for debug traces.
 *
 * Text lines go to stderr (and to the log file when one is set); with
 * --log-format json each line in the log file is {"level","msg","time"} as
 * runc writes them, which containerd's shim reads back on failure. */
#ifndef CELL_LOG_H
#define CELL_LOG_H

#include <stdbool.h>

enum cell_log_level { CELL_LOG_ERROR, CELL_LOG_WARN, CELL_LOG_INFO, CELL_LOG_DEBUG };

struct cell_error;

/* path may be NULL (stderr only). json selects runc's JSON lines. */
int cell_log_init(const char *progname, const char *path, bool json, bool debug,
		  struct cell_error **err);
void cell_log(enum cell_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define cell_debug(...) cell_log(CELL_LOG_DEBUG, __VA_ARGS__)
#define cell_warn(...) cell_log(CELL_LOG_WARN, __VA_ARGS__)
/* Print an error (and free it). */
void cell_log_error(struct cell_error **err);
bool cell_log_debug_enabled(void);
/* The fd of the log file, or -1, so child processes can inherit it. */
int cell_log_fd(void);

#endif
