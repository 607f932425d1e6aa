/* linux.seccomp of the OCI runtime spec, through libseccomp.
 *
 * The runtime compiles the profile before anything is created, so that
 * every mistake in it (unknown action, operator or architecture, errnoRet on
 * an action that returns no errno, notify without listenerPath, a filter too
 * large for the kernel) is reported up front with the field that holds it.
 * libseccomp generates the BPF program once, in a short-lived child of the
 * runtime with a deadline; the container init only hands that program to
 * seccomp(2) (no allocation, no libseccomp state), as the last step before
 * execve. Flags are passed to
 * seccomp(2) directly, so each works wherever the kernel has it.
 *
 * Semantics follow runc: syscall names libseccomp does not know are skipped
 * (profiles list syscalls of newer kernels), rules whose action equals the
 * default action are skipped, SCMP_ACT_ERRNO and SCMP_ACT_TRACE default to
 * EPERM, a rule whose args repeat an index becomes one rule per arg (OR),
 * otherwise one rule with all conditions (AND). The filter never sets
 * no_new_privs by itself: process.noNewPrivileges decides that, so without
 * it the filter must be loaded while CAP_SYS_ADMIN is still held. */

/* src/lib is on the include path, so system headers asking for the kernel's
 * <linux/seccomp.h> (libseccomp's <seccomp.h> does) land here: hand them the
 * real one. Outside the guard so it works whichever is included first. */
#include_next <linux/seccomp.h>

#ifndef CELL_SECCOMP_H
#define CELL_SECCOMP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct cell_seccomp;

/* Validate and compile linux.seccomp (the object itself). */
int cell_seccomp_compile(json_object *seccomp, struct cell_seccomp **ret, cell_error **err);
/* libseccomp runs in a child process with a deadline (10 s unless set
 * here): some small rule sets make it run for minutes. */
void cell_seccomp_set_compile_timeout(int ms);
/* The same compile in this process, without the deadline (fuzzing). */
int cell_seccomp_compile_inprocess(json_object *seccomp, struct cell_seccomp **ret, cell_error **err);
/* The same, keeping compiled programs in cache_dir (created 0700 if
 * missing; NULL = no cache). Generating a program for a 3-architecture
 * profile such as Docker's default takes libseccomp ~15 ms; a hit takes
 * well under 1 ms. Files are named by a hash and hold the whole profile
 * text, this build's, libseccomp's and the kernel's versions, so a
 * collision or an upgrade is a miss. The cache can be removed at any time;
 * suggested place: <runtime root>/seccomp-cache. */
int cell_seccomp_compile_cached(json_object *seccomp, const char *cache_dir, struct cell_seccomp **ret,
				cell_error **err);
/* Load the filter into the calling process (the container init, after caps
 * and no_new_privs). *ret_notify_fd gets the user-notification listener fd
 * when the profile uses SCMP_ACT_NOTIFY, else -1. */
int cell_seccomp_load(struct cell_seccomp *s, int *ret_notify_fd, cell_error **err);
bool cell_seccomp_needs_notify(const struct cell_seccomp *s);
const char *cell_seccomp_listener_path(const struct cell_seccomp *s);
const char *cell_seccomp_listener_metadata(const struct cell_seccomp *s);
/* Connect to the listenerPath unix socket and send the notify fd with
 * SCM_RIGHTS, the payload being the container process state of the OCI spec
 * ({"ociVersion","fds":["seccompFd"],"pid","metadata","state"}). state_json
 * is the container's state (its pid is taken from there); a document that
 * already is a container process state (has "fds") is sent as it is. */
int cell_seccomp_send_notify_fd(const char *listener_path, int fd, const char *state_json, cell_error **err);
/* The same with listenerMetadata of the profile filled in: prefer this one. */
int cell_seccomp_send_notify(const struct cell_seccomp *s, int fd, const char *state_json, cell_error **err);
void cell_seccomp_free(struct cell_seccomp *s);

/* Number of BPF instructions of the compiled filter, and the program. */
int cell_seccomp_bpf_length(const struct cell_seccomp *s);
const void *cell_seccomp_program(const struct cell_seccomp *s, size_t *ret_len);

/* What this build knows, for `features`: NULL-terminated name lists. */
extern const char *const cell_seccomp_actions[];
extern const char *const cell_seccomp_operators[];
extern const char *const cell_seccomp_archs[];
extern const char *const cell_seccomp_flags[];
/* Whether the running kernel supports a flag of cell_seccomp_flags. */
bool cell_seccomp_flag_supported(const char *flag);

#endif
