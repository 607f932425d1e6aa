#define _GNU_SOURCE
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

int cell_idmap_write(pid_t pid, const char *file, const struct cell_idmap *m, size_t n, cell_error **err)
{
	char buf[4096];
	size_t off = 0;
	for (size_t i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id,
					m[i].host_id, m[i].size);
	_cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
	return write_file_at(AT_FDCWD, path, buf, off, err);
}

int cell_userns_fd(const struct cell_idmap *uid, size_t n_uid, const struct cell_idmap *gid, size_t n_gid,
		   cell_error **err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return cell_error_errno(err, errno, "create a pipe");
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return cell_error_errno(err, e, "create a user namespace for an id-mapped mount");
	}
	if (pid == 0) {
		char c;
		close(pipefd[1]);
		/* only lives for its namespace to be opened */
		while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pipefd[0]);
	int fd = -1;
	if (cell_idmap_write(pid, "uid_map", uid, n_uid, err) == 0 && cell_idmap_write(pid, "gid_map", gid, n_gid, err) == 0) {
		_cleanup_free_ char *p = xasprintf("/proc/%d/ns/user", (int)pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			cell_error_errno(err, errno, "open `%s`", p);
	}
	close(pipefd[1]);
	waitpid(pid, NULL, 0);
	return fd;
}

int cell_idmap_prepare(const struct cell_spec *s, int **ret_fds, cell_error **err)
{
	int *fds = NULL;
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct cell_mount *m = &s->mounts[i];
		if (!m->idmap)
			continue;
		if (!fds) {
			fds = xcalloc(s->n_mounts, sizeof(int));
			for (size_t j = 0; j < s->n_mounts; j++)
				fds[j] = -1;
		}
		const struct cell_idmap *u = m->n_uid_maps ? m->uid_maps : s->uid_maps;
		const struct cell_idmap *g = m->n_gid_maps ? m->gid_maps : s->gid_maps;
		size_t nu = m->n_uid_maps ? m->n_uid_maps : s->n_uid_maps;
		size_t ng = m->n_gid_maps ? m->n_gid_maps : s->n_gid_maps;
		if (!nu || !ng) {
			cell_error_set(err, "`mounts[%zu]`: idmap needs uidMappings and gidMappings on the mount "
				       "or a user namespace with mappings", i);
			goto fail;
		}
		_cleanup_close_ int userns = cell_userns_fd(u, nu, g, ng, err);
		if (userns < 0)
			goto fail;
		int tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
					OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->recursive ? AT_RECURSIVE : 0));
		if (tree < 0) {
			cell_error_errno(err, errno, "`mounts[%zu]`: clone the tree of `%s`", i, m->source);
			goto fail;
		}
		fds[i] = tree;
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
		if (m->flags & MS_RDONLY)
			attr.attr_set |= MOUNT_ATTR_RDONLY;
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (m->recursive ? AT_RECURSIVE : 0), &attr,
			    sizeof(attr)) < 0) {
			cell_error_errno(err, errno, "`mounts[%zu]`: id-map `%s` (does its file system support "
					 "id-mapped mounts? kernel 5.12+)", i, m->source);
			goto fail;
		}
	}
	*ret_fds = fds;
	return 0;
fail:
	for (size_t j = 0; fds && j < s->n_mounts; j++)
		safe_close(fds[j]);
	free(fds);
	return -1;
}

int cell_idmap_attach(int tree, int dest, const char *shown, cell_error **err)
{
	if (syscall(SYS_move_mount, tree, "", dest, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return cell_error_errno(err, errno, "attach the id-mapped mount on `%s`", shown);
	return 0;
}
