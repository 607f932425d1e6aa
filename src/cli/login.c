/* `cell login` and `cell logout`: registry credentials in Docker's
 * config.json format, in the file podman and docker read (image/auth.h), for
 * pull and push to use. The credentials are stored as given: they are not
 * tried against the registry yet. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "image/auth.h"
#include "util.h"

static const char login_usage[] =
	"Usage: cell login [OPTIONS] [SERVER]\n\n"
	"Save credentials for a registry (default docker.io) in $REGISTRY_AUTH_FILE,\n"
	"$XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json, as podman and docker do.\n"
	"They are not checked against the registry.\n\n"
	"Options:\n"
	"  -u, --username USER   user name\n"
	"  -p, --password PASS   password (visible to other users in ps: prefer --password-stdin)\n"
	"      --password-stdin  read the password from stdin\n"
	"      --authfile FILE   the credentials file\n";

static char *read_secret(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

int cmd_login(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "username", required_argument, NULL, 'u' }, { "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 'P' }, { "authfile", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *user = NULL, *authfile = NULL;
	_cleanup_free_ char *pass = NULL;
	bool from_stdin = false;
	int c;
	while ((c = getopt_long(argc, argv, "u:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case 'p': free(pass); pass = xstrdup(optarg); break;
		case 'P': from_stdin = true; break;
		case 'a': authfile = optarg; break;
		case 'h': printf("%s", login_usage); return 0;
		default: return cell_error_set(err, "login: bad option (see `cell login --help`)"), EXIT_CELL;
		}
	}
	if (optind + 1 < argc)
		return cell_error_set(err, "`cell login` takes at most 1 argument: the registry"), EXIT_CELL;
	const char *server = optind < argc ? argv[optind] : "docker.io";
	if (from_stdin && pass)
		return cell_error_set(err, "--password and --password-stdin are mutually exclusive"), EXIT_CELL;
	if (from_stdin && !user)
		return cell_error_set(err, "must provide --username with --password-stdin"), EXIT_CELL;
	_cleanup_free_ char *typed = NULL;
	if (!user) {
		if (!isatty(0))
			return cell_error_set(err, "login: no --username, and stdin is not a terminal to ask on"),
			       EXIT_CELL;
		fprintf(stderr, "Username: ");
		typed = read_secret(stdin);
		user = typed;
	}
	if (!user || !*user)
		return cell_error_set(err, "login: the user name is empty"), EXIT_CELL;
	if (!pass) {
		if (from_stdin)
			pass = read_secret(stdin);
		else if (isatty(0)) {
			char *p = getpass("Password: ");
			pass = p ? xstrdup(p) : NULL;
		}
	}
	if (!pass || !*pass)
		return cell_error_set(err, "login: no password (-p, --password-stdin, or typed on a terminal)"),
		       EXIT_CELL;
	if (strchr(user, ':'))
		return cell_error_set(err, "login: a user name cannot contain `:`"), EXIT_CELL;
	int r = cell_auth_save(authfile, server, user, pass, err);
	explicit_bzero(pass, strlen(pass));
	if (r < 0)
		return EXIT_CELL;
	printf("Login Succeeded\n");
	return 0;
}

int cmd_logout(int argc, char **argv, cell_error **err)
{
	static const struct option opts[] = {
		{ "authfile", required_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *authfile = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': authfile = optarg; break;
		case 'h': printf("Usage: cell logout [--authfile FILE] [SERVER]\n\nRemove the saved credentials of a "
				 "registry (default docker.io).\n"); return 0;
		default: return cell_error_set(err, "logout: bad option (see `cell logout --help`)"), EXIT_CELL;
		}
	}
	if (optind + 1 < argc)
		return cell_error_set(err, "`cell logout` takes at most 1 argument: the registry"), EXIT_CELL;
	const char *server = optind < argc ? argv[optind] : "docker.io";
	_cleanup_free_ char *key = cell_auth_key(server);
	bool found = false;
	if (cell_auth_remove(authfile, server, &found, err) < 0)
		return EXIT_CELL;
	if (found)
		printf("Removing login credentials for %s\n", key);
	else
		printf("Not logged in to %s\n", key);
	return 0;
}
