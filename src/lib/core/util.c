#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

void closep(int *fd)
{
	if (*fd >= 0)
		*fd = safe_close(*fd);
}

void fclosep(FILE **f)
{
	if (*f) {
		fclose(*f);
		*f = NULL;
	}
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *p;
	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		abort();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	va_end(ap);
	return p;
}

size_t strv_len(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void strvfreep(char ***v)
{
	strv_free(*v);
	*v = NULL;
}

int read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, cell_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0, max = 64u << 20;
	char *buf;

	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s`", path);
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;
		if (len + 1 >= cap) {
			if (cap >= max) {
				free(buf);
				return cell_error_set(err, "read `%s`: file larger than %zu bytes", path, max);
			}
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return cell_error_errno(err, e, "read `%s`", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int read_file(const char *path, char **ret, size_t *ret_len, cell_error **err)
{
	return read_file_at(AT_FDCWD, path, ret, ret_len, err);
}

static int write_all(int fd, const char *path, const char *data, size_t len, cell_error **err)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cell_error_errno(err, errno, "write `%.*s` to `%s`",
						(int)(len > 64 ? 64 : len), data, path);
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_at(int dirfd, const char *path, const char *data, size_t len, cell_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s` for writing", path);
	return write_all(fd, path, data, len, err);
}

int rewrite_file(const char *path, const char *data, cell_error **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s` for writing", path);
	return write_all(fd, path, data, strlen(data), err);
}

int write_file(const char *path, const char *data, cell_error **err)
{
	return write_file_at(AT_FDCWD, path, data, strlen(data), err);
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, cell_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t off = 0;

	if (fd < 0)
		return cell_error_errno(err, errno, "create `%s`", tmp);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			unlink(tmp);
			return cell_error_errno(err, e, "write `%s`", tmp);
		}
		off += (size_t)n;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cell_error_errno(err, e, "rename `%s` to `%s`", tmp, path);
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode, cell_error **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return cell_error_errno(err, errno, "create directory `%s`", p);
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int rm_rf_at(int dfd, const char *name, dev_t dev, cell_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "stat `%s`", name);
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != dev)
			return cell_error_set(err, "remove `%s`: refusing to cross a mount point", name);
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return cell_error_errno(err, errno, "open `%s`", name);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return cell_error_errno(err, errno, "open `%s`", name);
		}
		struct dirent *de;
		int r = 0;
		while ((de = readdir(d))) {
			if (streq(de->d_name, ".") || streq(de->d_name, ".."))
				continue;
			r = rm_rf_at(dirfd(d), de->d_name, dev, err);
			if (r < 0)
				break;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return cell_error_errno(err, errno, "remove directory `%s`", name);
		return 0;
	}
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return cell_error_errno(err, errno, "remove `%s`", name);
	return 0;
}

int rm_rf(const char *path, cell_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : cell_error_errno(err, errno, "stat `%s`", path);
	if (rm_rf_at(AT_FDCWD, path, st.st_dev, err) < 0)
		return cell_error_wrap(err, "remove `%s`", path);
	return 0;
}

static int lock_fd(int fd, const char *path, bool exclusive, cell_error **err)
{
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return cell_error_errno(err, e, "lock `%s`", path);
	}
	return fd;
}

int lock_file(const char *path, bool exclusive, cell_error **err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cell_error_errno(err, errno, "open lock `%s`", path);
	return lock_fd(fd, path, exclusive, err);
}

int lock_dir(const char *path, bool exclusive, cell_error **err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_error_errno(err, errno, "open `%s` to lock it", path);
	return lock_fd(fd, path, exclusive, err);
}

int parse_int64(const char *s, int64_t *ret)
{
	char *end;
	long long v;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_uint64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_size(const char *s, int64_t *ret)
{
	char *end;
	double v;
	double mul = 1;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'b': case 'B': mul = 1; end++; break;
	case 'k': case 'K': mul = 1024.0; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: return -EINVAL;
	}
	if ((*end == 'b' || *end == 'B') && mul > 1)
		end++;
	if (*end)
		return -EINVAL;
	v *= mul;
	if (v > (double)INT64_MAX)
		return -ERANGE;
	*ret = (int64_t)v;
	return 0;
}

uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* field 3 (state) follows; start time is field 22 */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	/* a zombie still has its start time; treat it as alive here */
	return strtoull(p + 1, NULL, 10);
}

bool proc_alive(pid_t pid, uint64_t start)
{
	char path[64], buf[1024];
	if (pid <= 0 || !start)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	/* " S ..." : a zombie (a killed process nobody reaped yet) is gone */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return false;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p && strtoull(p + 1, NULL, 10) == start;
}

void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}

static const struct { const char *name; int sig; } signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "IOT", SIGIOT }, { "BUS", SIGBUS },
	{ "FPE", SIGFPE }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "POLL", SIGPOLL }, { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

int signal_parse(const char *s)
{
	int64_t n;
	if (!s || !*s)
		return -EINVAL;
	if (parse_int64(s, &n) == 0)
		return (n > 0 && n < _NSIG) ? (int)n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].sig;
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		int base = strncasecmp(s, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;
		if (!s[5])
			return base;
		if (parse_int64(s + 5, &n) == 0) {
			long v = base + n;
			if (v >= SIGRTMIN && v <= SIGRTMAX)
				return (int)v;
		}
	}
	return -EINVAL;
}

const char *signal_name(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}
