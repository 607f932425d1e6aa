/* cell-runtime: runc's command line over the runtime library. One file per
 * command; main.c parses the global options and dispatches. */
#ifndef CELL_OCI_H
#define CELL_OCI_H

#include <getopt.h>
#include <stdbool.h>

#include "error.h"

struct oci_globals {
	const char *root;
	const char *log;
	const char *log_format;
	const char *criu;	/* --criu: the criu binary (default: criu in $PATH) */
	bool debug;
	bool systemd_cgroup;
};
extern struct oci_globals oci;

struct oci_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, cell_error **err);
	const char *usage;	/* "[options] <container-id>" */
	const char *summary;
};

/* Print a command's --help from its table entry and option list. */
void oci_usage(const char *name, const struct option *opts, const char *const *help);
/* Exactly n positional arguments remain after getopt, else an error. */
int oci_need_args(int argc, char **argv, int n, const char *what, cell_error **err);

#define OCI_CMD(name) int oci_##name(int argc, char **argv, cell_error **err)
OCI_CMD(create); OCI_CMD(start); OCI_CMD(run); OCI_CMD(kill); OCI_CMD(delete);
OCI_CMD(state); OCI_CMD(list); OCI_CMD(ps); OCI_CMD(exec); OCI_CMD(pause);
OCI_CMD(resume); OCI_CMD(update); OCI_CMD(events); OCI_CMD(spec); OCI_CMD(features);
OCI_CMD(checkpoint); OCI_CMD(restore);

#endif
