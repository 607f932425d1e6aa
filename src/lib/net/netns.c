/* Network namespace files in /run/netns, made exactly as iproute2's
 * `ip netns add|attach|delete|exec` makes them, so both tools see each
 * other's namespaces:
 *
 *   - /run/netns is a mount point with shared propagation (bind-mounted
 *     onto itself the first time), so a netns file bound there from a
 *     private mount namespace still shows up for everyone;
 *   - /run/netns/NAME is an empty file with a bind mount of the namespace
 *     (/proc/PID/ns/net) on top; deleting is a lazy unmount + unlink;
 *   - exec enters the netns, then a private mount namespace in which /sys
 *     is remounted (so /sys/class/net shows the netns' links) and the files
 *     of /etc/netns/NAME are bound over those of /etc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipam.h"
#include "net.h"
#include "util.h"

static int check_ns_name(const char *name, cell_error **err)
{
	if (!name || !*name || strlen(name) > 200 || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return cell_error_set(err, "netns name `%s` must be 1-200 characters without '/'", name ? name : "");
	return 0;
}

/* mkdir /run/netns and make it a shared mount point, as iproute2 does. */
static int prepare_dir(cell_error **err)
{
	if (mkdir_p(CELL_NETNS_DIR, 0755, err) < 0)
		return -1;
	for (int tries = 0; tries < 2; tries++) {
		if (mount("", CELL_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
			return 0;
		if (errno != EINVAL || tries)
			return cell_error_errno(err, errno, "make `%s` a shared mount point", CELL_NETNS_DIR);
		/* not a mount point yet: bind it onto itself, then retry */
		if (mount(CELL_NETNS_DIR, CELL_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			return cell_error_errno(err, errno, "bind-mount `%s` onto itself", CELL_NETNS_DIR);
	}
	return 0;
}

static int create_file(const char *path, cell_error **err)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EEXIST)
			return net_error(err, EEXIST, "netns file `%s` exists already", path);
		return cell_error_errno(err, errno, "create `%s`", path);
	}
	close(fd);
	return 0;
}

static int bind_ns(const char *src, const char *path, cell_error **err)
{
	if (mount(src, path, "none", MS_BIND, NULL) < 0) {
		int e = errno;
		unlink(path);
		return cell_error_errno(err, e, "bind-mount `%s` on `%s`", src, path);
	}
	return 0;
}

int cell_netns_attach(const char *name, pid_t pid, cell_error **err)
{
	_cleanup_free_ char *path = NULL, *src = NULL;

	if (check_ns_name(name, err) < 0)
		return -1;
	if (pid <= 0)
		return cell_error_set(err, "netns attach `%s`: bad pid %d", name, (int)pid);
	src = xasprintf("/proc/%d/ns/net", (int)pid);
	if (access(src, F_OK) < 0)
		return cell_error_errno(err, errno, "netns attach `%s`: process %d", name, (int)pid);
	path = xasprintf("%s/%s", CELL_NETNS_DIR, name);
	if (prepare_dir(err) < 0 || create_file(path, err) < 0 || bind_ns(src, path, err) < 0)
		return cell_error_wrap(err, "netns attach `%s` to pid %d", name, (int)pid);
	return 0;
}

struct add_thread {
	const char *path;
	cell_error *err;
};

static void *add_thread_main(void *arg)
{
	struct add_thread *t = arg;
	/* a new netns for this thread only, bound to the file, then the thread ends */
	if (unshare(CLONE_NEWNET) < 0) {
		cell_error_errno(&t->err, errno, "create a network namespace");
		return NULL;
	}
	bind_ns("/proc/thread-self/ns/net", t->path, &t->err);
	return NULL;
}

int cell_netns_add(const char *name, cell_error **err)
{
	_cleanup_free_ char *path = NULL;
	struct add_thread t = { 0 };
	pthread_t th;
	int r;

	if (check_ns_name(name, err) < 0)
		return -1;
	path = xasprintf("%s/%s", CELL_NETNS_DIR, name);
	if (prepare_dir(err) < 0 || create_file(path, err) < 0)
		return cell_error_wrap(err, "netns add `%s`", name);
	t.path = path;
	r = pthread_create(&th, NULL, add_thread_main, &t);
	if (r != 0) {
		unlink(path);
		return cell_error_errno(err, r, "netns add `%s`: start thread", name);
	}
	pthread_join(th, NULL);
	if (t.err) {
		unlink(path);
		*err = t.err;
		return cell_error_wrap(err, "netns add `%s`", name);
	}
	return 0;
}

int cell_netns_del(const char *name, cell_error **err)
{
	_cleanup_free_ char *path = NULL;

	if (check_ns_name(name, err) < 0)
		return -1;
	path = xasprintf("%s/%s", CELL_NETNS_DIR, name);
	if (access(path, F_OK) < 0)
		return cell_error_errno(err, errno, "netns del `%s`", name);
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return cell_error_errno(err, errno, "netns del `%s`: unmount `%s`", name, path);
	if (unlink(path) < 0)
		return cell_error_errno(err, errno, "netns del `%s`: remove `%s`", name, path);
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cell_netns_list(char ***ret, cell_error **err)
{
	DIR *d = opendir(CELL_NETNS_DIR);
	struct dirent *de;
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;

	if (!d) {
		if (errno == ENOENT) {
			*ret = v;
			return 0;
		}
		free(v);
		return cell_error_errno(err, errno, "open `%s`", CELL_NETNS_DIR);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		v = realloc(v, (n + 2) * sizeof(char *));
		if (!v)
			abort();
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmpstr);
	*ret = v;
	return 0;
}

int cell_netns_open(const char *name, cell_error **err)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (check_ns_name(name, err) < 0)
		return -1;
	path = xasprintf("%s/%s", CELL_NETNS_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_error_errno(err, errno, "open netns `%s` (%s)", name, path);
	return fd;
}

/* Bind /etc/netns/NAME/<f> over /etc/<f> for each file there. */
static int bind_etc(const char *name, cell_error **err)
{
	_cleanup_free_ char *dir = xasprintf("/etc/netns/%s", name);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *src = NULL, *dst = NULL;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		src = xasprintf("%s/%s", dir, de->d_name);
		dst = xasprintf("/etc/%s", de->d_name);
		if (mount(src, dst, "none", MS_BIND, NULL) < 0) {
			int e = errno;
			closedir(d);
			return cell_error_errno(err, e, "bind `%s` over `%s`", src, dst);
		}
	}
	closedir(d);
	return 0;
}

int cell_netns_exec(const char *name, char **argv, cell_error **err)
{
	_cleanup_close_ int fd = cell_netns_open(name, err);

	if (fd < 0)
		return -1;
	if (!argv || !argv[0])
		return cell_error_set(err, "netns exec `%s`: no command", name);
	if (setns(fd, CLONE_NEWNET) < 0)
		return cell_error_errno(err, errno, "netns exec `%s`: enter network namespace", name);
	if (unshare(CLONE_NEWNS) < 0)
		return cell_error_errno(err, errno, "netns exec `%s`: new mount namespace", name);
	/* our remounts must not propagate back to the host */
	if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
		return cell_error_errno(err, errno, "netns exec `%s`: make / a slave mount", name);
	if (umount2("/sys", MNT_DETACH) == 0) {
		if (mount(name, "/sys", "sysfs", 0, NULL) < 0)
			return cell_error_errno(err, errno, "netns exec `%s`: mount sysfs on /sys", name);
	}
	if (bind_etc(name, err) < 0)
		return cell_error_wrap(err, "netns exec `%s`", name);
	execvp(argv[0], argv);
	return cell_error_errno(err, errno, "netns exec `%s`: execute `%s`", name, argv[0]);
}
