/* The last steps before execve, shared by the container init and by `exec`:
 * rlimits, scheduling, the user, capabilities, umask, cwd, no_new_privs and
 * finding the program. Runs in the child, inside the container. */
#ifndef CELL_PROCESS_H
#define CELL_PROCESS_H

#include <stdbool.h>

#include "error.h"
#include "spec/spec.h"

/* rlimits, scheduler, ioPriority, oom_score_adj (when not set by the parent) */
int cell_process_limits(const struct cell_process *p, cell_error **err);
/* LSM profiles: a clear error when the profile is set and the LSM absent. */
int cell_process_lsm(const struct cell_process *p, cell_error **err);
/* groups, gid, uid (keeping capabilities), then capabilities, umask. */
int cell_process_identity(const struct cell_process *p, bool setgroups_allowed, cell_error **err);
/* chdir to cwd before the user changes, as runc does: a directory root may
 * enter but the user may not (a 0700 dir of another owner) still works.
 * *ret_done false (permission denied) means: try again as the user. */
int cell_process_cwd_early(const struct cell_process *p, bool *ret_done, cell_error **err);
/* chdir to cwd, as the final user, so that permissions are checked as them. */
int cell_process_cwd(const struct cell_process *p, cell_error **err);
/* The program to execve: args[0] as a path, or searched in the process's PATH. */
int cell_process_find(const struct cell_process *p, char **ret, cell_error **err);
/* Mark every fd from 3 + preserve_fds up close-on-exec. */
void cell_process_close_fds(int preserve_fds);
/* execve, never returns: on failure prints why to stderr and exits 126/127. */
__attribute__((noreturn)) void cell_process_exec(const struct cell_process *p, const char *path);
/* Personality from linux.personality ({"domain": "LINUX32", "flags": []}). */
int cell_process_personality(json_object *pers, cell_error **err);

#endif
