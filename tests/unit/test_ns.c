/* Unit tests of namespace enumeration: nsfs names, mountinfo lines, id map
 * readings, and a scan of this very process. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/nsinfo.h"
#include "tap.h"
#include "util.h"

static void test_types(void)
{
	IS_STR(cell_ns_type_name(CELL_NS_MNT), "mnt", "mnt is named as /proc/PID/ns names it");
	IS_STR(cell_ns_type_name(CELL_NS_NTYPES), NULL, "out-of-range type has no name");
	IS_INT(cell_ns_type_parse("net"), CELL_NS_NET, "parse net");
	IS_INT(cell_ns_type_parse("mount"), CELL_NS_MNT, "parse the long name mount");
	IS_INT(cell_ns_type_parse("network"), CELL_NS_NET, "parse the long name network");
	IS_INT(cell_ns_type_parse("bogus"), -1, "unknown type is refused");
	IS_INT(cell_ns_type_flag(CELL_NS_PID), CLONE_NEWPID, "pid flag is CLONE_NEWPID");
	IS_INT(cell_ns_type_flag(CELL_NS_MNT), CLONE_NEWNS, "mnt flag is CLONE_NEWNS");
	/* user first: cell enter joins in this order */
	IS_INT(CELL_NS_USER, 0, "user namespace comes first in the join order");
}

static void test_parse_link(void)
{
	int type = -1;
	uint64_t ino = 0;
	IS_INT(cell_ns_parse_link("net:[4026532938]", &type, &ino), 0, "parse net:[4026532938]");
	IS_INT(type, CELL_NS_NET, "its type is net");
	IS_INT(ino, 4026532938ULL, "its inode");
	IS_INT(cell_ns_parse_link("pid_for_children:[1]", &type, &ino), -EINVAL, "pid_for_children is not a type");
	IS_INT(cell_ns_parse_link("net:[]", &type, &ino), -EINVAL, "empty inode refused");
	IS_INT(cell_ns_parse_link("net:[12]x", &type, &ino), -EINVAL, "trailing garbage refused");
	IS_INT(cell_ns_parse_link("net:12", &type, &ino), -EINVAL, "missing brackets refused");
	IS_INT(cell_ns_parse_link("/netns", &type, &ino), -EINVAL, "a path is not an nsfs name");
}

static void test_mountinfo(void)
{
	int type = -1;
	uint64_t ino = 0;
	char *mp = NULL;
	/* from the seeds: `ip netns add newnet` */
	const char *l1 = "1183 1160 0:4 net:[4026532938] /run/netns/newnet rw shared:641 - nsfs nsfs rw\n";
	IS_INT(cell_ns_parse_mountinfo_line(l1, &type, &ino, &mp), 1, "nsfs line recognised");
	IS_INT(type, CELL_NS_NET, "nsfs line: net namespace");
	IS_INT(ino, 4026532938ULL, "nsfs line: inode");
	IS_STR(mp, "/run/netns/newnet", "nsfs line: mount point");
	free(mp);
	mp = NULL;

	const char *l2 = "1160 26 0:23 /netns /run/netns rw,nosuid,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1635172k\n";
	IS_INT(cell_ns_parse_mountinfo_line(l2, &type, &ino, &mp), 0, "tmpfs line is not nsfs");
	IS_STR(mp, NULL, "no mount point returned for a non-nsfs line");

	const char *l3 = "40 26 0:4 uts:[4026532001] /tmp/my\\040ns rw - nsfs nsfs rw\n";
	IS_INT(cell_ns_parse_mountinfo_line(l3, &type, &ino, &mp), 1, "nsfs line with an escaped space");
	IS_STR(mp, "/tmp/my ns", "octal escape \\040 undone");
	IS_INT(type, CELL_NS_UTS, "uts namespace");
	free(mp);
	mp = NULL;

	const char *l4 = "41 26 0:4 net:[5] /x rw shared:1 master:2 - nsfs nsfs rw\n";
	IS_INT(cell_ns_parse_mountinfo_line(l4, &type, &ino, &mp), 1, "several optional fields before the separator");
	free(mp);
	mp = NULL;

	IS_INT(cell_ns_parse_mountinfo_line("garbage\n", &type, &ino, &mp), -EINVAL, "short line refused");
	IS_INT(cell_ns_parse_mountinfo_line("1 2 0:4 net:[5] /x rw\n", &type, &ino, &mp), -EINVAL,
	       "line without the ' - ' separator refused");
}

static void test_mountinfo_general(void)
{
	struct cell_mountinfo m;
	const char *l = "612 590 0:52 / / rw,relatime master:1 - overlay overlay "
			"rw,lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work\n";
	IS_INT(cell_mountinfo_parse_line(l, &m), 0, "an overlay root line parses");
	IS_STR(m.mountpoint, "/", "its mount point");
	IS_STR(m.fstype, "overlay", "its type, after the optional fields");
	IS_STR(m.source, "overlay", "its source");
	IS_STR(m.options, "rw,lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work", "its super options");
	cell_mountinfo_clear(&m);
	IS_INT(cell_mountinfo_parse_line("1 2 0:4 / /x rw - \n", &m), -EINVAL, "a line cut after the separator is refused");
}

static void test_idmap(void)
{
	char *s = cell_idmap_explain("         0       1000          1", "uid");
	IS_STR(s, "uid 0 inside is uid 1000 outside (1 id)", "the seeds' `0 1000 1` reading");
	free(s);
	s = cell_idmap_explain("0 100000 65536", "gid");
	IS_STR(s, "gids 0-65535 inside are gids 100000-165535 outside (65536 ids)", "a range reading");
	free(s);
	s = cell_idmap_explain("0 0", "uid");
	IS_STR(s, NULL, "two fields are malformed");
	free(s);
}

static void test_scan_self(void)
{
	cell_error *err = NULL;
	uint64_t mine = cell_ns_ino(0, CELL_NS_NET, &err);
	struct stat st;
	OK(mine != 0 && stat("/proc/self/ns/net", &st) == 0 && st.st_ino == mine,
	   "cell_ns_ino(self, net) is the inode of /proc/self/ns/net");
	cell_error_free(&err);

	struct cell_ns_filter f = { .pid = getpid() };
	struct cell_ns_list *l = NULL;
	IS_INT(cell_ns_scan(&f, &l, &err), 0, "scan the namespaces of this process");
	if (!l) {
		cell_error_free(&err);
		return;
	}
	const struct cell_ns *ns = cell_ns_find(l, mine);
	OK(ns != NULL, "our network namespace is listed");
	if (ns) {
		OK(ns->nprocs >= 1, "it holds at least this process");
		OK(ns->pid > 0 && ns->pid <= getpid(), "its pid is the lowest, so not above ours");
		OK(ns->path && strstr(ns->path, "/ns/net"), "its path is a /proc/PID/ns/net");
		OK(ns->netnsid != CELL_NETNSID_NONE, "a network namespace gets a netnsid or 'unassigned'");
		OK(ns->owner != 0, "its owning user namespace is known (NS_GET_USERNS)");
	}
	bool sorted = true;
	for (size_t i = 1; i < l->n; i++)
		sorted &= l->ns[i - 1].ino < l->ns[i].ino;
	OK(sorted, "sorted by inode, without duplicates");
	cell_ns_list_free(l);

	l = NULL;
	f = (struct cell_ns_filter){ .types = 1u << CELL_NS_UTS };
	IS_INT(cell_ns_scan(&f, &l, &err), 0, "scan only uts namespaces");
	bool only = l != NULL && l->n > 0;
	for (size_t i = 0; l && i < l->n; i++)
		only &= l->ns[i].type == CELL_NS_UTS && l->ns[i].netnsid == CELL_NETNSID_NONE;
	OK(only, "the type filter keeps uts namespaces only, none with a netnsid");
	cell_ns_list_free(l);

	l = NULL;
	f = (struct cell_ns_filter){ .pid = 0x3ffffff0 };
	OK(cell_ns_scan(&f, &l, &err) < 0 && err && strstr(err->msg, "1073741808"),
	   "a missing pid is an error naming it");
	cell_error_free(&err);
	cell_ns_list_free(l);
}

static void test_resolve_missing(void)
{
	cell_error *err = NULL;
	pid_t pid = 0;
	OK(cell_ns_ctr_resolve("no-such-container-xyz", &pid, NULL, &err) < 0 && err &&
	   strstr(err->msg, "no-such-container-xyz") && cell_error_code(err) == ENOENT,
	   "an unknown container is ENOENT, named in the message");
	cell_error_free(&err);
}

int main(void)
{
	test_types();
	test_parse_link();
	test_mountinfo();
	test_mountinfo_general();
	test_idmap();
	test_scan_self();
	test_resolve_missing();
	return TAP_DONE();
}
