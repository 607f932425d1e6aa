/* `cell`: one file per command or command group, dispatched by main.c's
 * table. Each command gets argv with argv[0] = its own name and returns the
 * process exit status (Docker's: 125 for cell's own errors). Errors are
 * returned through cell_error and printed once, by main. */
#ifndef CELL_CLI_COMMANDS_H
#define CELL_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "error.h"

#define EXIT_CELL 125	/* cell's own failure, as Docker's 125 */

enum cmd_flags {
	CMD_NEEDS_ROOT = 1 << 0,	/* refuse early with a clear message when not root */
};

struct cell_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, cell_error **err);
	unsigned flags;
	const char *summary;
};

/* Global options parsed by main, visible to commands. */
struct cell_globals {
	const char *root;	/* --root: engine state, default /var/lib/cell */
	const char *runroot;	/* runtime state, default /run/cell */
	bool debug;
};
extern struct cell_globals cell_globals;

/* Prototypes of commands, one group per file. Add yours here and in main.c. */
int cmd_version(int argc, char **argv, cell_error **err);
int cmd_compose(int argc, char **argv, cell_error **err);	/* compose.c */
int cmd_service(int argc, char **argv, cell_error **err);	/* service.c: system service */
/* info.c: `cell info --format json`'s object (also the API's GET /info) */
struct cell_engine;
json_object *cli_info_json(struct cell_engine *e);
int cmd_image(int argc, char **argv, cell_error **err);	/* image.c, also: */
int cmd_images(int argc, char **argv, cell_error **err);
int cmd_rmi(int argc, char **argv, cell_error **err);
int cmd_load(int argc, char **argv, cell_error **err);
int cmd_pull(int argc, char **argv, cell_error **err);	/* pull.c, also: */
int cmd_push(int argc, char **argv, cell_error **err);
int cmd_commit(int argc, char **argv, cell_error **err);	/* commit.c */
int cmd_build(int argc, char **argv, cell_error **err);	/* build.c, also: */
int cmd_builder(int argc, char **argv, cell_error **err);
int cmd_ns(int argc, char **argv, cell_error **err);	/* ns.c: ns ls, ns show */
int cmd_enter(int argc, char **argv, cell_error **err);	/* enter.c */
int cmd_unshare(int argc, char **argv, cell_error **err);	/* unshare.c */
int cmd_network(int argc, char **argv, cell_error **err);	/* network.c */
int cmd_netns(int argc, char **argv, cell_error **err);	/* netns.c */
/* events.c: Docker's --since/--until (unix time, RFC 3339, or a duration back), ns since the epoch */
int cli_time_parse(const char *flag, const char *s, int64_t *ret, cell_error **err);
int cmd_volume(int argc, char **argv, cell_error **err);	/* volume.c, also: */
void cli_human_size(uint64_t b, char *buf, size_t len);	/* Docker's HumanSize: 1.5MB */
bool cli_confirm(const char *warning);	/* prune's "Are you sure?" on stdin */
int cmd_system(int argc, char **argv, cell_error **err);	/* system.c: df, prune */
int cmd_info(int argc, char **argv, cell_error **err);	/* info.c */

int cmd_run(int argc, char **argv, cell_error **err);	/* run.c, also create and the engine helpers below */
int cmd_create(int argc, char **argv, cell_error **err);
int cmd_start(int argc, char **argv, cell_error **err);	/* start.c, also restart */
int cmd_restart(int argc, char **argv, cell_error **err);
int cmd_stop(int argc, char **argv, cell_error **err);
int cmd_kill(int argc, char **argv, cell_error **err);
int cmd_rm(int argc, char **argv, cell_error **err);
int cmd_ps(int argc, char **argv, cell_error **err);
int cmd_logs(int argc, char **argv, cell_error **err);
int cmd_exec(int argc, char **argv, cell_error **err);
int cmd_inspect(int argc, char **argv, cell_error **err);
int cmd_wait(int argc, char **argv, cell_error **err);
int cmd_pause(int argc, char **argv, cell_error **err);	/* pause.c, also unpause */
int cmd_unpause(int argc, char **argv, cell_error **err);
int cmd_top(int argc, char **argv, cell_error **err);
int cmd_stats(int argc, char **argv, cell_error **err);
int cmd_rename(int argc, char **argv, cell_error **err);
int cmd_port(int argc, char **argv, cell_error **err);
int cmd_cp(int argc, char **argv, cell_error **err);
int cmd_container(int argc, char **argv, cell_error **err);	/* rm.c: container SUBCOMMAND, prune */
int cmd_monitor_step(int argc, char **argv, cell_error **err);	/* monitor.c: cell-monitor's steps */
int cmd_attach(int argc, char **argv, cell_error **err);	/* attach.c */
int cmd_healthcheck(int argc, char **argv, cell_error **err);	/* health.c */
int cmd_events(int argc, char **argv, cell_error **err);	/* events.c */
int cmd_save(int argc, char **argv, cell_error **err);	/* alias.c: image save, tag, history */
int cmd_tag(int argc, char **argv, cell_error **err);
int cmd_history(int argc, char **argv, cell_error **err);
int cmd_import(int argc, char **argv, cell_error **err);
int cmd_diff(int argc, char **argv, cell_error **err);	/* diff.c */
int cmd_export(int argc, char **argv, cell_error **err);	/* export.c */
int cmd_update(int argc, char **argv, cell_error **err);	/* update.c */
int cmd_login(int argc, char **argv, cell_error **err);	/* login.c, also logout */
int cmd_logout(int argc, char **argv, cell_error **err);
/* run_flags.c: run's --platform, --runtime, --log-driver, --pull, --cidfile, --label-file */
int cli_run_flags_check(const char *platform, const char *runtime, const char *log_driver, const char *pull,
			const char *cidfile, cell_error **err);
int cli_cidfile_write(const char *cidfile, const char *id, cell_error **err);
int cli_label_files(char **files, char ***ret, cell_error **err);
struct cell_engine;
int cli_run_pull(struct cell_engine *e, const char *image, const char *pull, cell_error **err);
int cli_bool_flag(const char *name, const char *arg, bool *ret, cell_error **err);	/* attach.c: --x[=true|false] */
struct cell_engine; struct json_object; struct _IO_FILE;
int cli_engine_open(struct cell_engine **ret, cell_error **err);	/* engine at --root / runroot */
int cli_lookup(struct cell_engine *e, const char *ref, char **ret_id, cell_error **err);
void cli_strv_push(char ***v, const char *s);
int cli_wait_child(pid_t child, int ignore1, int ignore2);	/* enter.c: status of child as ours */
int cli_each(int argc, char **argv, int first, bool print, int (*fn)(struct cell_engine *e, const char *id, void *data, cell_error **err), void *data, cell_error **err);
void cli_template(struct _IO_FILE *f, struct json_object *o, const char *tmpl);	/* inspect.c: {{.A.B}} */

#endif
