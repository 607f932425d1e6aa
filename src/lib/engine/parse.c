/* Values of `cell run` flags, parsed before anything is created, and names
 * and ids of containers. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "util.h"

/* a selection of Docker's names-generator word lists */
static const char *const adjectives[] = {
	"admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
	"blissful", "bold", "boring", "brave", "busy", "charming", "clever", "cool", "compassionate",
	"competent", "confident", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy",
	"eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting", "fervent",
	"festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy",
	"gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible",
	"inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing",
	"loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice",
	"nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical",
	"priceless", "quirky", "quizzical", "recursing", "relaxed", "reverent", "romantic", "sad",
	"serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet",
	"tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous",
	"wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
};
static const char *const surnames[] = {
	"agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin",
	"babbage", "banach", "bardeen", "bartik", "bassi", "bell", "benz", "bhabha", "blackwell", "bohr",
	"booth", "borg", "bose", "boyd", "brahmagupta", "brattain", "brown", "carson", "chandrasekhar",
	"clarke", "colden", "cori", "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky",
	"easley", "edison", "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat",
	"fermi", "feynman", "franklin", "galileo", "gates", "goldberg", "goldstine", "goodall",
	"hamilton", "hawking", "heisenberg", "hermann", "hertz", "hodgkin", "hofstadter", "hopper",
	"hypatia", "jackson", "jang", "jennings", "jepsen", "johnson", "joliot", "jones", "kalam",
	"kapitsa", "keldysh", "kepler", "khorana", "kilby", "knuth", "kowalevski", "lalande", "lamport",
	"leakey", "leavitt", "lewin", "lichterman", "liskov", "lovelace", "lumiere", "mahavira",
	"margulis", "matsumoto", "maxwell", "mayer", "mccarthy", "mcclintock", "meitner", "mendel",
	"merkle", "mirzakhani", "montalcini", "moore", "morse", "napier", "nash", "neumann", "newton",
	"nobel", "noether", "northcutt", "noyce", "pare", "pascal", "pasteur", "perlman", "pike",
	"poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "roentgen", "rosalind",
	"saha", "sammet", "shamir", "shannon", "shaw", "shockley", "sinoussi", "snyder", "spence",
	"stonebraker", "swanson", "swartz", "tesla", "thompson", "torvalds", "turing", "varahamihira",
	"visvesvaraya", "volhard", "wescoff", "wiles", "williams", "wilson", "wing", "wozniak",
	"wright", "yalow", "yonath",
};

static uint32_t rnd32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

char *cell_name_random(void)
{
	const char *a = adjectives[rnd32() % ARRAY_SIZE(adjectives)];
	const char *s = surnames[rnd32() % ARRAY_SIZE(surnames)];
	return xasprintf("%s_%s", a, s);
}

bool cell_name_valid(const char *name)
{
	if (!name || !isalnum((unsigned char)name[0]))
		return false;
	size_t n = strlen(name);
	if (n > 128)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

char *cell_id_new(void)
{
	unsigned char b[32];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	for (; got < sizeof(b); got++)
		b[got] = (unsigned char)rand();
	char *s = xmalloc(65);
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

int cell_restart_parse(const char *s, char **ret_name, int *ret_max, cell_error **err)
{
	int max = 0;
	if (!s || !*s || streq(s, "no") || streq(s, "always") || streq(s, "unless-stopped")) {
		*ret_name = xstrdup(s && *s ? s : "no");
		*ret_max = 0;
		return 0;
	}
	if (strncmp(s, "on-failure", 10) == 0 && (s[10] == 0 || s[10] == ':')) {
		if (s[10] == ':') {
			int64_t v;
			if (parse_int64(s + 11, &v) < 0 || v < 0 || v > INT_MAX)
				return cell_error_set(err, "invalid --restart `%s`: the count after `on-failure:` "
						      "must be a non-negative integer", s);
			max = (int)v;
		}
		*ret_name = xstrdup("on-failure");
		*ret_max = max;
		return 0;
	}
	return cell_error_set(err, "invalid --restart `%s`: expected no, always, unless-stopped or "
			      "on-failure[:N]", s);
}

int cell_cpus_parse(const char *s, int64_t *ret_quota, cell_error **err)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 4096)
		return cell_error_set(err, "invalid --cpus `%s`: expected a positive number of CPUs such as 1.5", s);
	*ret_quota = (int64_t)(v * 100000.0 + 0.5);
	if (*ret_quota < 1000)
		return cell_error_set(err, "invalid --cpus `%s`: the minimum is 0.01", s);
	return 0;
}

static const struct { const char *name; const char *oci; } rlimits[] = {
	{ "core", "RLIMIT_CORE" }, { "cpu", "RLIMIT_CPU" }, { "data", "RLIMIT_DATA" },
	{ "fsize", "RLIMIT_FSIZE" }, { "locks", "RLIMIT_LOCKS" }, { "memlock", "RLIMIT_MEMLOCK" },
	{ "msgqueue", "RLIMIT_MSGQUEUE" }, { "nice", "RLIMIT_NICE" }, { "nofile", "RLIMIT_NOFILE" },
	{ "nproc", "RLIMIT_NPROC" }, { "rss", "RLIMIT_RSS" }, { "rtprio", "RLIMIT_RTPRIO" },
	{ "rttime", "RLIMIT_RTTIME" }, { "sigpending", "RLIMIT_SIGPENDING" }, { "stack", "RLIMIT_STACK" },
	{ "as", "RLIMIT_AS" },
};

static int parse_limit(const char *s, uint64_t *ret)
{
	if (streq(s, "unlimited") || streq(s, "-1")) {
		*ret = UINT64_MAX;
		return 0;
	}
	return parse_uint64(s, ret);
}

int cell_ulimit_parse(const char *s, json_object **ret, cell_error **err)
{
	const char *eq = strchr(s, '=');
	if (!eq)
		return cell_error_set(err, "invalid --ulimit `%s`: expected name=soft[:hard]", s);
	_cleanup_free_ char *name = strndup(s, (size_t)(eq - s));
	const char *oci = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
		if (streq(rlimits[i].name, name))
			oci = rlimits[i].oci;
	if (!oci)
		return cell_error_set(err, "invalid --ulimit `%s`: unknown limit `%s` (nofile, nproc, core, ...)",
				      s, name);
	_cleanup_free_ char *vals = xstrdup(eq + 1);
	char *colon = strchr(vals, ':');
	if (colon)
		*colon++ = 0;
	uint64_t soft, hard;
	if (parse_limit(vals, &soft) < 0 || (colon && parse_limit(colon, &hard) < 0))
		return cell_error_set(err, "invalid --ulimit `%s`: limits must be integers", s);
	if (!colon)
		hard = soft;
	if (soft > hard)
		return cell_error_set(err, "invalid --ulimit `%s`: soft limit above the hard limit", s);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(oci));
	json_object_object_add(o, "hard", json_object_new_uint64(hard));
	json_object_object_add(o, "soft", json_object_new_uint64(soft));
	*ret = o;
	return 0;
}

static json_object *strv_json(char **v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static json_object *bind_mount(const char *src, const char *dst, bool ro)
{
	char *opts[] = { "rbind", ro ? "ro" : "rw", "rprivate", NULL };
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dst));
	json_object_object_add(m, "type", json_object_new_string("bind"));
	json_object_object_add(m, "source", json_object_new_string(src));
	json_object_object_add(m, "options", strv_json(opts));
	return m;
}

static int host_path(const char *flag, const char *whole, const char *src, char **ret, cell_error **err)
{
	if (src[0] != '/')
		return cell_error_set(err, "invalid %s `%s`: the host path `%s` must be absolute", flag, whole, src);
	char *real = realpath(src, NULL);
	if (!real)
		return cell_error_errno(err, errno, "invalid %s `%s`: host path `%s`", flag, whole, src);
	*ret = real;
	return 0;
}

/* A volume mount as engine_volumes_resolve() (volume.c) expects it: type
 * "volume", source the name ("" for an anonymous one), "nocopy" among the
 * options when the image's content must not be copied in. */
static json_object *volume_mount(const char *name, const char *dst, bool ro, bool nocopy)
{
	char *opts[] = { "rbind", ro ? "ro" : "rw", "rprivate", nocopy ? "nocopy" : NULL, NULL };
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dst));
	json_object_object_add(m, "type", json_object_new_string("volume"));
	json_object_object_add(m, "source", json_object_new_string(name ? name : ""));
	json_object_object_add(m, "options", strv_json(opts));
	return m;
}

/* A destination that names the container's root itself ("/", "//", "/.",
 * "/.."): Docker refuses it, and a mount there would hide the image. */
static bool dest_is_root(const char *dst)
{
	for (const char *p = dst; *p; p++)
		if (*p != '/' && *p != '.')
			return false;
	/* only slashes and dots: a root unless a component is "..." or longer */
	_cleanup_free_ char *c = xstrdup(dst);
	for (char *save = NULL, *t = strtok_r(c, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (!streq(t, ".") && !streq(t, ".."))
			return false;
	return true;
}

static int dest_check(const char *flag, const char *whole, const char *dst, cell_error **err)
{
	if (dest_is_root(dst))
		return cell_error_set(err, "invalid %s `%s`: the container path `%s` is the container's root "
				      "file system, which a mount cannot replace: mount below it (e.g. /data)",
				      flag, whole, dst);
	return 0;
}

/* Docker's volume name rule, at least two characters. */
static bool volume_name_ok(const char *s)
{
	return strlen(s) >= 2 && cell_name_valid(s);
}

static int volume_opts(const char *s, char *opt, bool *ro, bool *nocopy, cell_error **err)
{
	for (char *save = NULL, *t = strtok_r(opt, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (streq(t, "ro"))
			*ro = true;
		else if (streq(t, "rw"))
			*ro = false;
		else if (streq(t, "nocopy"))
			*nocopy = true;
		else if (!streq(t, "z") && !streq(t, "Z") && !streq(t, "rprivate") && !streq(t, "private"))
			return cell_error_set(err, "invalid -v `%s`: unknown option `%s` (ro, rw or nocopy)", s, t);
	}
	return 0;
}

static bool volume_opts_valid(const char *opt)
{
	_cleanup_free_ char *copy = xstrdup(opt);
	bool ro = false, nocopy = false;
	cell_error *x = NULL;
	int r = volume_opts(opt, copy, &ro, &nocopy, &x);
	cell_error_free(&x);
	return r == 0 && *opt;
}

int cell_volume_parse(const char *s, json_object **ret, cell_error **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	bool ro = false, nocopy = false;
	char *dst = strchr(copy, ':');
	/* Docker: `-v /ctr` and `-v /ctr:ro` are anonymous volumes */
	if (!dst || (copy[0] == '/' && dst[1] != '/' && !strchr(dst + 1, ':') && volume_opts_valid(dst + 1))) {
		if (dst) {
			*dst++ = 0;
			if (volume_opts(s, dst, &ro, &nocopy, err) < 0)
				return -1;
		}
		if (copy[0] != '/')
			return cell_error_set(err, "invalid -v `%s`: expected host-path:container-path[:ro], "
					      "volume:container-path[:ro] or an absolute container path", s);
		if (dest_check("-v", s, copy, err) < 0)
			return -1;
		*ret = volume_mount(NULL, copy, ro, nocopy);
		return 0;
	}
	*dst++ = 0;
	char *opt = strchr(dst, ':');
	if (opt) {
		*opt++ = 0;
		if (volume_opts(s, opt, &ro, &nocopy, err) < 0)
			return -1;
	}
	if (!*copy || !*dst)
		return cell_error_set(err, "invalid -v `%s`: expected host-path:container-path[:ro]", s);
	if (dst[0] != '/')
		return cell_error_set(err, "invalid -v `%s`: the container path `%s` must be absolute", s, dst);
	if (dest_check("-v", s, dst, err) < 0)
		return -1;
	/* Docker's rule: a source without a slash is a volume name */
	if (!strchr(copy, '/')) {
		if (!volume_name_ok(copy))
			return cell_error_set(err, "invalid -v `%s`: `%s` is not a valid volume name "
					      "([a-zA-Z0-9][a-zA-Z0-9_.-]+; a host path must be absolute)", s, copy);
		*ret = volume_mount(copy, dst, ro, nocopy);
		return 0;
	}
	if (nocopy)
		return cell_error_set(err, "invalid -v `%s`: nocopy applies to volumes, not host paths", s);
	_cleanup_free_ char *src = NULL;
	if (host_path("-v", s, copy, &src, err) < 0)
		return -1;
	*ret = bind_mount(src, dst, ro);
	return 0;
}

int cell_mount_flag_parse(const char *s, json_object **ret, cell_error **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	const char *type = "volume", *src = NULL, *dst = NULL, *size = NULL, *mode = NULL;
	bool ro = false, nocopy = false;
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *v = strchr(t, '=');
		if (v)
			*v++ = 0;
		if (streq(t, "type") && v)
			type = v;
		else if ((streq(t, "source") || streq(t, "src")) && v)
			src = v;
		else if ((streq(t, "target") || streq(t, "destination") || streq(t, "dst")) && v)
			dst = v;
		else if (streq(t, "readonly") || streq(t, "ro"))
			ro = !v || streq(v, "true") || streq(v, "1");
		else if (streq(t, "tmpfs-size") && v)
			size = v;
		else if (streq(t, "tmpfs-mode") && v)
			mode = v;
		else if (streq(t, "bind-propagation") && v)
			;
		else if (streq(t, "volume-nocopy"))
			nocopy = !v || streq(v, "true") || streq(v, "1");
		else
			return cell_error_set(err, "invalid --mount `%s`: unknown field `%s`", s, t);
	}
	if (!dst || dst[0] != '/')
		return cell_error_set(err, "invalid --mount `%s`: an absolute target= is required", s);
	if (dest_check("--mount", s, dst, err) < 0)
		return -1;
	if (streq(type, "bind")) {
		if (!src)
			return cell_error_set(err, "invalid --mount `%s`: type=bind needs source=", s);
		_cleanup_free_ char *real = NULL;
		if (host_path("--mount", s, src, &real, err) < 0)
			return -1;
		*ret = bind_mount(real, dst, ro);
		return 0;
	}
	if (streq(type, "tmpfs")) {
		json_object *opts = json_object_new_array();
		json_object_array_add(opts, json_object_new_string("nosuid"));
		json_object_array_add(opts, json_object_new_string("nodev"));
		if (ro)
			json_object_array_add(opts, json_object_new_string("ro"));
		if (size) {
			int64_t b;
			if (parse_size(size, &b) < 0 || b <= 0) {
				json_object_put(opts);
				return cell_error_set(err, "invalid --mount `%s`: bad tmpfs-size `%s`", s, size);
			}
			char *o = xasprintf("size=%lld", (long long)b);
			json_object_array_add(opts, json_object_new_string(o));
			free(o);
		}
		if (mode) {
			char *o = xasprintf("mode=%s", mode);
			json_object_array_add(opts, json_object_new_string(o));
			free(o);
		}
		json_object *m = json_object_new_object();
		json_object_object_add(m, "destination", json_object_new_string(dst));
		json_object_object_add(m, "type", json_object_new_string("tmpfs"));
		json_object_object_add(m, "source", json_object_new_string("tmpfs"));
		json_object_object_add(m, "options", opts);
		*ret = m;
		return 0;
	}
	if (streq(type, "volume")) {
		if (src && *src && !volume_name_ok(src))
			return cell_error_set(err, "invalid --mount `%s`: `%s` is not a valid volume name "
					      "([a-zA-Z0-9][a-zA-Z0-9_.-]+)", s, src);
		*ret = volume_mount(src, dst, ro, nocopy);
		return 0;
	}
	return cell_error_set(err, "invalid --mount `%s`: type `%s` is not supported (bind, volume or tmpfs)", s,
			      type);
}

static const char *const all_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

const char *const cell_default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

char *cell_cap_normalize(const char *s)
{
	_cleanup_free_ char *up = xstrdup(s);
	for (char *p = up; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (streq(up, "ALL"))
		return xstrdup("ALL");
	const char *bare = strncmp(up, "CAP_", 4) == 0 ? up + 4 : up;
	for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++)
		if (streq(all_caps[i], bare))
			return xasprintf("CAP_%s", bare);
	return NULL;
}

/* Exposed for spec.c: every capability name. */
char **cell_all_caps(void);
char **cell_all_caps(void)
{
	char **v = xcalloc(ARRAY_SIZE(all_caps) + 1, sizeof(char *));
	for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++)
		v[i] = xasprintf("CAP_%s", all_caps[i]);
	return v;
}

static void json_escape_into(FILE *f, const char *s, size_t len)
{
	/* json-c does the escaping; this only avoids a temporary object per chunk */
	json_object *o = json_object_new_string_len(s, (int)len);
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), f);
	json_object_put(o);
}

char *cell_log_line(const char *stream, const char *data, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	char now[64];
	rfc3339_now(now, sizeof(now));
	fputs("{\"log\":", f);
	json_escape_into(f, data, len);
	fprintf(f, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, now);
	fclose(f);
	return buf;
}
