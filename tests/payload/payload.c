/* payload: a static program run inside test containers so that tests can
 * assert from the inside without depending on what the image ships.
 * One subcommand per fact; output is one plain line (or a few) on stdout.
 *
 *   payload hostname | domainname | isatty [FD] | id | groups | caps [SET]
 *   payload env NAME | cwd | pid | ppid | umask | nnp | seccomp | oomscore
 *   payload rlimit NAME | ns TYPE | mounts | fds | cat FILE | write FILE TEXT
 *   payload exists PATH | mknod PATH MAJ MIN | open PATH | openw PATH | sleep SECS
 *   payload exit N | memhog MIB | forkbomb N | waitsig | personality
 *   payload sched | ioprio | echo ARGS... | winsize | syscall NAME|NUMBER
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_field(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[512];
	size_t kl = strlen(key);
	if (!f) {
		perror("payload: /proc/self/status");
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			fputs(v, stdout);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	fprintf(stderr, "payload: %s not in /proc/self/status\n", key);
	return 1;
}

static int cat(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "payload: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

static const struct { const char *name; int res; } rlimits[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_STACK", RLIMIT_STACK }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

static volatile sig_atomic_t got_sig;
static void on_sig(int s) { got_sig = s; }

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *a = argc > 2 ? argv[2] : NULL;
	char buf[PATH_MAX];

	if (!strcmp(cmd, "hostname") || !strcmp(cmd, "domainname")) {
		int r = cmd[0] == 'h' ? gethostname(buf, sizeof(buf)) : getdomainname(buf, sizeof(buf));
		if (r < 0)
			return perror("payload"), 1;
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "isatty")) {
		printf("%s\n", isatty(a ? atoi(a) : 0) ? "yes" : "no");
	} else if (!strcmp(cmd, "winsize")) {
		struct winsize ws;
		if (ioctl(a ? atoi(a) : 1, TIOCGWINSZ, &ws) < 0)
			return perror("payload: TIOCGWINSZ"), 1;
		printf("%d %d\n", ws.ws_row, ws.ws_col);
	} else if (!strcmp(cmd, "id")) {
		printf("%u %u\n", getuid(), getgid());
	} else if (!strcmp(cmd, "groups")) {
		gid_t g[256];
		int n = getgroups(256, g);
		for (int i = 0; i < n; i++)
			printf("%s%u", i ? " " : "", g[i]);
		printf("\n");
	} else if (!strcmp(cmd, "caps")) {
		char key[16];
		snprintf(key, sizeof(key), "Cap%s", a ? a : "Eff");
		return status_field(key);
	} else if (!strcmp(cmd, "nnp")) {
		return status_field("NoNewPrivs");
	} else if (!strcmp(cmd, "seccomp")) {
		return status_field("Seccomp");
	} else if (!strcmp(cmd, "env")) {
		const char *v = a ? getenv(a) : NULL;
		if (!v)
			return fprintf(stderr, "payload: %s unset\n", a ? a : "?"), 1;
		printf("%s\n", v);
	} else if (!strcmp(cmd, "cwd")) {
		if (!getcwd(buf, sizeof(buf)))
			return perror("payload"), 1;
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "pid")) {
		printf("%d\n", getpid());
	} else if (!strcmp(cmd, "ppid")) {
		printf("%d\n", getppid());
	} else if (!strcmp(cmd, "umask")) {
		mode_t m = umask(0);
		printf("%04o\n", m);
	} else if (!strcmp(cmd, "oomscore")) {
		return cat("/proc/self/oom_score_adj");
	} else if (!strcmp(cmd, "rlimit")) {
		for (size_t i = 0; a && i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
			if (strcmp(a, rlimits[i].name))
				continue;
			struct rlimit rl;
			getrlimit(rlimits[i].res, &rl);
			if (rl.rlim_cur == RLIM_INFINITY)
				printf("unlimited ");
			else
				printf("%llu ", (unsigned long long)rl.rlim_cur);
			if (rl.rlim_max == RLIM_INFINITY)
				printf("unlimited\n");
			else
				printf("%llu\n", (unsigned long long)rl.rlim_max);
			return 0;
		}
		return fprintf(stderr, "payload: unknown rlimit %s\n", a ? a : ""), 1;
	} else if (!strcmp(cmd, "ns")) {
		snprintf(buf, sizeof(buf), "/proc/self/ns/%s", a ? a : "pid");
		char link[256];
		ssize_t n = readlink(buf, link, sizeof(link) - 1);
		if (n < 0)
			return perror("payload: readlink"), 1;
		link[n] = 0;
		printf("%s\n", link);
	} else if (!strcmp(cmd, "mounts")) {
		return cat("/proc/self/mountinfo");
	} else if (!strcmp(cmd, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *de;
		int self = d ? dirfd(d) : -1;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.' || atoi(de->d_name) == self)
				continue;
			printf("%s\n", de->d_name);
		}
		if (d)
			closedir(d);
	} else if (!strcmp(cmd, "cat") && a) {
		return cat(a);
	} else if (!strcmp(cmd, "write") && a && argc > 3) {
		int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, argv[3], strlen(argv[3])) < 0)
			return fprintf(stderr, "payload: write %s: %s\n", a, strerror(errno)), 1;
		close(fd);
	} else if (!strcmp(cmd, "exists") && a) {
		struct stat st;
		printf("%s\n", lstat(a, &st) == 0 ? "yes" : "no");
	} else if (!strcmp(cmd, "mknod") && a && argc > 4) {
		if (mknod(a, S_IFCHR | 0600, makedev(atoi(argv[3]), atoi(argv[4]))) < 0)
			return fprintf(stderr, "payload: mknod %s: %s\n", a, strerror(errno)), 1;
		printf("ok\n");
	} else if ((!strcmp(cmd, "open") || !strcmp(cmd, "openw")) && a) {
		/* openw: write only, nothing written (/dev/kmsg needs no CAP_SYSLOG so) */
		int fd = open(a, cmd[4] == 'w' ? O_WRONLY : O_RDWR);
		if (fd < 0)
			return fprintf(stderr, "payload: open %s: %s\n", a, strerror(errno)), 1;
		printf("ok\n");
	} else if (!strcmp(cmd, "sleep")) {
		sleep(a ? (unsigned)atoi(a) : 3600);
	} else if (!strcmp(cmd, "exit")) {
		return a ? atoi(a) : 0;
	} else if (!strcmp(cmd, "memhog")) {
		size_t mib = a ? (size_t)atol(a) : 64;
		for (size_t i = 0; i < mib; i++) {
			char *p = malloc(1 << 20);
			if (!p)
				return fprintf(stderr, "payload: malloc failed at %zu MiB\n", i), 1;
			memset(p, 1, 1 << 20);
		}
		printf("allocated %zu MiB\n", mib);
	} else if (!strcmp(cmd, "forkbomb")) {
		int n = a ? atoi(a) : 100, made = 0;
		pid_t *kids = calloc((size_t)n + 1, sizeof(pid_t));
		for (int i = 0; i < n; i++) {
			pid_t p = fork();
			if (p < 0)
				break;
			if (p == 0) {
				pause();
				_exit(0);
			}
			kids[made++] = p;
		}
		printf("%d\n", made);
		fflush(stdout);
		/* by pid: kill(0) would reach the runtime, which shares our process group */
		for (int i = 0; i < made; i++)
			kill(kids[i], SIGKILL);
		while (wait(NULL) > 0)
			;
	} else if (!strcmp(cmd, "waitsig")) {
		for (int s = 1; s < 32; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, on_sig);
		printf("ready\n");
		fflush(stdout);
		while (!got_sig)
			pause();
		printf("signal %d\n", (int)got_sig);
	} else if (!strcmp(cmd, "personality")) {
		printf("%#x\n", personality(0xffffffff));
	} else if (!strcmp(cmd, "sched")) {
		printf("%d\n", sched_getscheduler(0));
	} else if (!strcmp(cmd, "ioprio")) {
		printf("%ld\n", syscall(SYS_ioprio_get, 1, 0));
	} else if (!strcmp(cmd, "echo")) {
		for (int i = 2; i < argc; i++)
			printf("%s%s", i > 2 ? " " : "", argv[i]);
		printf("\n");
	} else if (!strcmp(cmd, "syscall") && a) {
		long r = -1;
		if (!strcmp(a, "getcwd"))
			r = syscall(SYS_getcwd, buf, sizeof(buf));
		else if (!strcmp(a, "mkdir"))
			r = syscall(SYS_mkdir, "/tmp/payload-mkdir", 0700);
		else if (!strcmp(a, "uname"))
			r = syscall(SYS_uname, buf);
		else if (a[0] >= '0' && a[0] <= '9')
			r = syscall(atol(a), 0, 0, 0, 0, 0, 0);	/* by number, e.g. 1000 */
		printf("%s\n", r < 0 ? strerror(errno) : "ok");
	} else {
		fprintf(stderr, "payload: unknown command `%s` (see tests/payload/payload.c)\n", cmd);
		return 2;
	}
	return 0;
}
