/* The `run`/`create` flags the command line handles itself: --cidfile,
 * --platform, --runtime, --log-driver, --label-file, --pull. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "image/image.h"
#include "util.h"

static const char *local_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	if (streq(u.machine, "x86_64"))
		return "amd64";
	if (streq(u.machine, "aarch64"))
		return "arm64";
	return strdup(u.machine);
}

int cli_run_flags_check(const char *platform, const char *runtime, const char *log_driver, const char *pull,
			const char *cidfile, cell_error **err)
{
	if (platform) {
		_cleanup_free_ char *want = xasprintf("linux/%s", local_arch());
		if (!streq(platform, want) && !streq(platform, local_arch()))
			return cell_error_set(err, "--platform `%s`: only this machine's platform `%s` runs here "
						   "(no emulation)", platform, want);
	}
	if (runtime && !streq(runtime, "runc") && !streq(runtime, "cell-runtime") && !streq(runtime, "cell"))
		return cell_error_set(err, "unknown or invalid runtime name: %s (cell's runtime is built in: runc or "
					   "cell-runtime)", runtime);
	if (log_driver && !streq(log_driver, "json-file") && !streq(log_driver, "none"))
		return cell_error_set(err, "--log-driver `%s`: json-file and none are the log drivers here", log_driver);
	if (pull && !streq(pull, "missing") && !streq(pull, "always") && !streq(pull, "never"))
		return cell_error_set(err, "invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"",
				      pull);
	if (cidfile && access(cidfile, F_OK) == 0)
		return cell_error_set(err, "Container ID file found, make sure the other container isn't running or "
					   "delete %s", cidfile);
	return 0;
}

int cli_cidfile_write(const char *cidfile, const char *id, cell_error **err)
{
	if (!cidfile)
		return 0;
	int fd = open(cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return cell_error_errno(err, errno, "--cidfile: create `%s`", cidfile);
	int r = write(fd, id, strlen(id)) == (ssize_t)strlen(id) ? 0 : -1;
	close(fd);
	if (r < 0)
		return cell_error_errno(err, errno, "--cidfile: write `%s`", cidfile);
	return 0;
}

/* Docker's --label-file: KEY=VALUE lines, # comments and blank lines skipped. */
int cli_label_files(char **files, char ***ret, cell_error **err)
{
	char **out = xcalloc(1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; files && files[i]; i++) {
		_cleanup_fclose_ FILE *f = fopen(files[i], "re");
		if (!f) {
			strv_free(out);
			return cell_error_errno(err, errno, "--label-file: open `%s`", files[i]);
		}
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		while ((len = getline(&line, &cap, f)) >= 0) {
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = 0;
			const char *p = line + strspn(line, " \t");
			if (!*p || *p == '#')
				continue;
			out = realloc(out, (n + 2) * sizeof(char *));
			if (!out)
				abort();
			out[n++] = xstrdup(p);
			out[n] = NULL;
		}
		free(line);
	}
	*ret = out;
	return 0;
}

/* --pull: always, or missing when the image is not here; never: as before. */
int cli_run_pull(struct cell_engine *e, const char *image, const char *pull, cell_error **err)
{
	if (!pull || streq(pull, "never"))
		return 0;
	if (streq(pull, "missing")) {
		struct cell_store *s = NULL;
		struct cell_image *img = NULL;
		cell_error *x = NULL;
		bool have = cell_store_open(e->root, &s, &x) == 0 && cell_image_resolve(s, image, &img, &x) == 0;
		cell_error_free(&x);
		cell_image_free(img);
		cell_store_free(s);
		if (have)
			return 0;
	}
	char *argv[] = { "pull", (char *)image, NULL };
	fflush(stdout);
	/* pull's progress goes where Docker's run prints it: stderr */
	int saved = dup(1);
	dup2(2, 1);
	int rc = cmd_pull(2, argv, err);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc == 0 ? 0 : -1;
}
