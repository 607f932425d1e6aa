/* Small helpers shared by every part of cell: cleanup attributes, fd and
 * file utilities, atomic writes, locks. Destructors accept NULL / -1. */
#ifndef CELL_UTIL_H
#define CELL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/types.h>

#include "error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline void freep(void *p) { free(*(void **)p); }
void closep(int *fd);
void fclosep(FILE **f);
void strvfreep(char ***v);
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
#define _cleanup_strv_ __attribute__((cleanup(strvfreep)))

/* Hand ownership on: `return TAKE_FD(fd);` leaves -1 behind for the cleanup. */
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })
#define TAKE_PTR(p) ({ typeof(p) _t = (p); (p) = NULL; _t; })

/* close() that never retries on EINTR (the fd is gone either way on Linux)
 * and keeps errno. Returns -1 so that `fd = safe_close(fd);` works. */
int safe_close(int fd);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

size_t strv_len(char **v);
void strv_free(char **v);

/* Read a whole file (at most max bytes; 0 = 64 MiB) into a NUL-terminated buffer. */
int read_file(const char *path, char **ret, size_t *ret_len, cell_error **err);
int read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, cell_error **err);
/* Write a string to an existing file such as a cgroup or /proc knob. */
int write_file(const char *path, const char *data, cell_error **err);
int write_file_at(int dirfd, const char *path, const char *data, size_t len, cell_error **err);
/* Truncate and write an existing file in place, not following a symlink:
 * for files bind-mounted elsewhere, which a rename would detach. */
int rewrite_file(const char *path, const char *data, cell_error **err);
/* Write a file atomically: temp file in the same dir, fsync-less rename. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, cell_error **err);

/* mkdir -p with mode; existing dirs are fine. */
int mkdir_p(const char *path, mode_t mode, cell_error **err);
/* rm -rf that does not cross mount points; ENOENT is success. */
int rm_rf(const char *path, cell_error **err);

/* flock() on path (created if missing); returns the fd holding the lock. */
int lock_file(const char *path, bool exclusive, cell_error **err);
/* flock() a directory itself: no lock file to create (an inode costs 0.3-1 ms
 * on some file systems). Returns the fd holding the lock. */
int lock_dir(const char *path, bool exclusive, cell_error **err);

/* Parse an integer, rejecting trailing garbage and overflow. */
int parse_int64(const char *s, int64_t *ret);
int parse_uint64(const char *s, uint64_t *ret);
/* Parse sizes as Docker does: 512, 64k, 10m, 1.5g (binary units). */
int parse_size(const char *s, int64_t *ret);

/* Process start time (field 22 of /proc/PID/stat), 0 if the process is gone.
 * Used with the pid to tell a live process from a reused pid. */
uint64_t proc_start_time(pid_t pid);
/* Is pid still the process that started at `start`, and not a zombie (a
 * killed init whose monitor died waits for pid 1 to reap it)? False for
 * pid <= 0 or start 0. The one "pid + start time is alive" check. */
bool proc_alive(pid_t pid, uint64_t start);

/* Current time as RFC 3339 with nanoseconds, UTC, in buf (>= 40 bytes). */
void rfc3339_now(char *buf, size_t len);

/* Signal names as kill(1) and runc accept them: "KILL", "SIGKILL", "9". */
int signal_parse(const char *s);
const char *signal_name(int sig);

#endif
