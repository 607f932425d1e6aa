#define _GNU_SOURCE
#include "features.h"

#include <seccomp.h>
#include <stdio.h>

#include "linux/caps.h"
#include "linux/seccomp.h"
#include "util.h"

/* Kept in step with what spec.c's mount option parser accepts (options it
 * accepts but ignores, such as copy-symlink, are not claimed). */
static const char *const mount_options[] = {
	"acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap",
	"iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec",
	"noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow",
	"private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "ridmap",
	"rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
	"rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
	"rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
	"strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", NULL,
};

static const char *const hooks[] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL,
};

static const char *const namespaces[] = {
	"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL,
};

static json_object *strv_json(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static json_object *enabled(bool on)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(on));
	return o;
}

static json_object *seccomp_features(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(1));
	json_object_object_add(o, "actions", strv_json(cell_seccomp_actions));
	json_object_object_add(o, "operators", strv_json(cell_seccomp_operators));
	json_object_object_add(o, "archs", strv_json(cell_seccomp_archs));
	json_object_object_add(o, "knownFlags", strv_json(cell_seccomp_flags));
	json_object *sup = json_object_new_array();
	for (size_t i = 0; cell_seccomp_flags[i]; i++)
		if (cell_seccomp_flag_supported(cell_seccomp_flags[i]))
			json_object_array_add(sup, json_object_new_string(cell_seccomp_flags[i]));
	json_object_object_add(o, "supportedFlags", sup);
	return o;
}

static json_object *linux_features(void)
{
	json_object *l = json_object_new_object();
	json_object_object_add(l, "namespaces", strv_json(namespaces));

	json_object *caps = json_object_new_array();
	int last = cell_cap_last_cap();
	if (last > cell_cap_last_known())
		last = cell_cap_last_known();
	for (int c = 0; c <= last; c++)
		json_object_array_add(caps, json_object_new_string(cell_cap_name(c)));
	json_object_object_add(l, "capabilities", caps);

	json_object *cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	/* linux.resources.rdma is type-checked but not applied (yet) */
	json_object_object_add(cg, "rdma", json_object_new_boolean(0));
	json_object_object_add(l, "cgroup", cg);

	json_object_object_add(l, "seccomp", seccomp_features());
	/* runtime support, irrespective of the host (features-linux.md):
	 * process.apparmorProfile and process.selinuxLabel are applied, with
	 * a clear error where the LSM is absent */
	json_object_object_add(l, "apparmor", enabled(true));
	json_object_object_add(l, "selinux", enabled(true));
	json_object_object_add(l, "intelRdt", enabled(false));
	json_object *ext = json_object_new_object();
	json_object_object_add(ext, "idmap", enabled(true));
	json_object_object_add(l, "mountExtensions", ext);
	json_object_object_add(l, "netDevices", enabled(true));
	return l;
}

json_object *cell_features(void)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(f, "ociVersionMax", json_object_new_string("1.2.0"));
	json_object_object_add(f, "hooks", strv_json(hooks));
	json_object_object_add(f, "mountOptions", strv_json(mount_options));
	json_object_object_add(f, "linux", linux_features());

	json_object *ann = json_object_new_object();
	const struct scmp_version *v = seccomp_version();
	char buf[64];
	snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro);
	json_object_object_add(ann, "io.github.seccomp.libseccomp.version", json_object_new_string(buf));
	json_object_object_add(ann, "run.cell.version", json_object_new_string(CELL_VERSION));
	json_object_object_add(f, "annotations", ann);
	return f;
}
