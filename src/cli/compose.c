/* `cell compose [ARGS...]`: Debian's docker-compose (else podman-compose)
 * run against a Docker API service started for the call (src/api), on a
 * socket of its own under the runtime root; the service ends with the call,
 * the containers it made live on under their monitors, as any `cell run -d`.
 * Compose reads the project (docker-compose.yml, -f, -p) itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api.h"
#include "commands.h"
#include "util.h"

static const char usage[] =
	"Usage: cell compose [COMPOSE OPTIONS] COMMAND [ARGS...]\n\n"
	"Run docker-compose (or podman-compose) against cell: a Docker API service is\n"
	"started for the call on a socket of its own and stopped after it. Everything\n"
	"compose does goes through the API (docs/api.md): networks, named volumes,\n"
	"published ports, service names in DNS, healthchecks, `down -v`. E.g.\n"
	"  cell compose up -d; cell compose ps; cell compose logs web; cell compose down -v\n";

static char *find_tool(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok(copy, ":"); d; d = strtok(NULL, ":")) {
		char *c = xasprintf("%s/%s", d, name);
		if (access(c, X_OK) == 0)
			return c;
		free(c);
	}
	return NULL;
}

int cmd_compose(int argc, char **argv, cell_error **err)
{
	if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h")) && argc == 2) {
		fputs(usage, stdout);
		return 0;
	}
	_cleanup_free_ char *tool = find_tool("docker-compose");
	if (!tool)
		tool = find_tool("podman-compose");
	if (!tool)
		return cell_error_set(err, "compose: neither docker-compose nor podman-compose is installed (Debian: "
					   "apt-get install docker-compose)"), EXIT_CELL;
	_cleanup_free_ char *dir = xasprintf("%s/compose-XXXXXX", cell_globals.runroot);
	if (mkdir_p(cell_globals.runroot, 0700, err) < 0)
		return EXIT_CELL;
	if (!mkdtemp(dir))
		return cell_error_errno(err, errno, "compose: make a directory under `%s` for the API socket",
					cell_globals.runroot), EXIT_CELL;
	_cleanup_free_ char *sock = xasprintf("%s/api.sock", dir), *uri = xasprintf("unix://%s", sock);
	struct cell_engine *e = NULL;
	int status = EXIT_CELL;
	pid_t svc = -1, child = -1;
	if (cell_engine_open(cell_globals.root, cell_globals.runroot, &e, err) < 0)
		goto out;
	fflush(stdout);
	fflush(stderr);
	svc = fork();
	if (svc < 0) {
		cell_error_errno(err, errno, "compose: fork the API service");
		goto out;
	}
	if (svc == 0) {
		/* the service, in its own process: it is alone with its threads */
		struct api_server_opts o = { .uri = uri, .idle_seconds = 0, .listen_fd = -1, .quiet = true };
		cell_error *x = NULL;
		signal(SIGINT, SIG_IGN);	/* Ctrl-C is compose's; we stop it after */
		int r = api_serve(e, &o, &x);
		if (r < 0)
			fprintf(stderr, "cell: compose: the API service: %s\n", x ? x->msg : "failed");
		_exit(r < 0 ? 1 : 0);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			break;
		if (waitpid(svc, NULL, WNOHANG) == svc) {
			svc = -1;
			cell_error_set(err, "compose: the API service did not start (see above)");
			goto out;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	child = fork();
	if (child < 0) {
		cell_error_errno(err, errno, "compose: fork `%s`", tool);
		goto out;
	}
	if (child == 0) {
		setenv("DOCKER_HOST", uri, 1);
		unsetenv("DOCKER_CONTEXT");
		unsetenv("DOCKER_TLS_VERIFY");
		argv[0] = tool;
		execv(tool, argv);
		fprintf(stderr, "cell: compose: execute `%s`: %s\n", tool, strerror(errno));
		_exit(EXIT_CELL);
	}
	/* the terminal's Ctrl-C reaches compose, which stops its work; we wait */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	int ws = 0;
	while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
out:
	if (svc > 0) {
		kill(svc, SIGTERM);
		int i;
		for (i = 0; i < 500 && waitpid(svc, NULL, WNOHANG) == 0; i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		if (i == 500) {
			kill(svc, SIGKILL);
			waitpid(svc, NULL, 0);
		}
	}
	unlink(sock);
	rmdir(dir);
	cell_engine_free(e);
	return status;
}
