#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "json.h"
#include "spec/spec.h"
#include "tap.h"

static const char *base =
	"{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
	"\"user\":{\"uid\":1,\"gid\":2,\"additionalGids\":[3]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}]},"
	"\"hostname\":\"h\","
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/b\",\"source\":\"data\",\"options\":[\"rbind\",\"ro\",\"rprivate\"]}],"
	"\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"timeout\":3}]},"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"}],"
	"\"maskedPaths\":[\"/proc/kcore\"],\"rootfsPropagation\":\"rslave\","
	"\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}";

static struct cell_spec *parse(const char *text, cell_error **err)
{
	json_object *doc = NULL;
	struct cell_spec *s = NULL;
	if (cj_parse_string("config.json", text, &doc, err) < 0)
		return NULL;
	cell_spec_parse(doc, "/bundle", &s, err);
	json_object_put(doc);
	return s;
}

/* Apply a change to the base document: replace `from` with `to` once. */
static char *edit(const char *from, const char *to)
{
	const char *p = strstr(base, from);
	if (!p)
		return NULL;
	size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	memcpy(out, base, (size_t)(p - base));
	strcpy(out + (p - base), to);
	strcat(out, p + strlen(from));
	return out;
}

static void bad(const char *from, const char *to, const char *want)
{
	cell_error *err = NULL;
	char *text = edit(from, to);
	struct cell_spec *s = text ? parse(text, &err) : NULL;
	OK(s == NULL && err && strstr(err->msg, want), "refused: %s", want);
	if (err && !strstr(err->msg, want))
		printf("#   got: %s\n", err->msg);
	cell_spec_free(s);
	cell_error_free(&err);
	free(text);
}

int main(void)
{
	cell_error *err = NULL;
	struct cell_spec *s = parse(base, &err);
	OK(s != NULL, "base config parses%s%s", err ? ": " : "", err ? err->msg : "");
	if (!s)
		return TAP_DONE();
	IS_STR(s->root_path, "/bundle/rootfs", "relative root.path is under the bundle");
	OK(s->root_readonly, "root.readonly");
	IS_STR(s->process.args[0], "sh", "process.args");
	IS_INT(s->process.uid, 1, "uid");
	IS_INT(s->process.gid, 2, "gid");
	IS_INT(s->process.n_additional_gids, 1, "additionalGids");
	IS_INT(s->process.n_rlimits, 1, "rlimits");
	IS_INT(s->process.rlimits[0].soft, 10, "rlimit soft");
	IS_INT(s->n_mounts, 3, "three mounts");
	IS_STR(s->mounts[1].destination, "/dev", "relative destination made absolute");
	OK(s->mounts[1].flags & MS_NOSUID, "nosuid flag");
	OK(s->mounts[1].flags & MS_STRICTATIME, "strictatime flag");
	IS_STR(s->mounts[1].data, "mode=755,size=65536k", "data options kept in order");
	OK(s->mounts[2].bind && s->mounts[2].recursive, "rbind");
	OK(s->mounts[2].flags & MS_RDONLY, "ro on bind");
	IS_INT(s->mounts[2].propagation, MS_PRIVATE | MS_REC, "rprivate propagation");
	IS_STR(s->mounts[2].source, "/bundle/data", "relative bind source under the bundle");
	IS_INT(s->n_hooks[CELL_HOOK_PRESTART], 1, "one prestart hook");
	IS_INT(s->hooks[CELL_HOOK_PRESTART][0].timeout, 3, "hook timeout");
	OK(s->ns[CELL_NS_PID].enabled && !s->ns[CELL_NS_PID].path, "new pid namespace");
	IS_STR(s->ns[CELL_NS_NET].path, "/run/netns/x", "network namespace joined by path");
	OK(!s->ns[CELL_NS_USER].enabled, "no user namespace");
	IS_INT(s->rootfs_propagation, MS_SLAVE | MS_REC, "rootfsPropagation");
	cell_spec_free(s);

	bad("\"ociVersion\":\"1.2.0\"", "\"ociVersion\":\"2.0\"", "`ociVersion`: version `2.0` is not supported");
	bad("\"args\":[\"sh\"]", "\"args\":\"sh\"", "`process.args`: expected array, got string");
	bad("\"args\":[\"sh\"]", "\"args\":[]", "`process.args`: required");
	bad("\"cwd\":\"/\"", "\"cwd\":\"x\"", "`process.cwd`: required, and must be an absolute path");
	bad("{\"type\":\"pid\"}", "{\"type\":\"pidd\"}", "unknown namespace type `pidd`");
	bad("{\"type\":\"uts\"}", "{\"type\":\"pid\"}", "namespace `pid` listed twice");
	bad("\"rbind\",\"ro\"", "\"rbind\",\"rox\"", "`mounts[2].options[1]`: unknown option `rox`");
	bad("\"soft\":10", "\"soft\":30", "soft limit 30 above hard limit 20");
	bad("\"RLIMIT_NOFILE\"", "\"RLIMIT_FOO\"", "unknown rlimit `RLIMIT_FOO`");
	bad("\"timeout\":3", "\"timeout\":0", "must be greater than zero");
	bad("\"path\":\"/bin/true\"", "\"path\":\"true\"", "must be an absolute path");
	bad("\"rootfsPropagation\":\"rslave\"", "\"rootfsPropagation\":\"sideways\"", "unknown propagation `sideways`");
	bad("{\"type\":\"uts\"},", "", "`hostname`: set, but no uts namespace");
	bad("{\"type\":\"pid\"}", "{\"type\":\"user\"}", "`linux.uidMappings` and `linux.gidMappings`: required");
	bad("\"uid\":1", "\"uid\":-1", "`process.user.uid`: expected a non-negative integer");
	bad("\"net.ipv4.ip_forward\":\"1\"", "\"net.ipv4.ip_forward\":1", "`linux.sysctl.net.ipv4.ip_forward`: expected string");
	bad("\"root\":{\"path\":\"rootfs\",\"readonly\":true}", "\"root\":{\"readonly\":true}", "`root.path`: required");
	return TAP_DONE();
}
