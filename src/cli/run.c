/* `cell run` and `cell create`: Docker's flags into a cell_run_request. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "engine/engine.h"
#include "engine/explain.h"
#include "util.h"

int cli_engine_open(struct cell_engine **ret, cell_error **err)
{
	return cell_engine_open(cell_globals.root, cell_globals.runroot, ret, err);
}

void cli_strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = realloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = (char *)s;
	(*v)[n + 1] = NULL;
}

/* Find the container or fail with Docker's wording; ret_id caller frees. */
int cli_lookup(struct cell_engine *e, const char *ref, char **ret_id, cell_error **err)
{
	return cell_ctr_lookup(e, ref, ret_id, err);
}

enum {
	O_RM = 1000, O_NAME, O_ENV_FILE, O_MOUNT, O_HOSTNAME, O_ENTRYPOINT, O_MEMORY_SWAP, O_CPUS,
	O_CPUSET, O_PIDS, O_READ_ONLY, O_CAP_ADD, O_CAP_DROP, O_PRIVILEGED, O_SECOPT, O_ULIMIT, O_INIT,
	O_RESTART, O_LOG_OPT, O_STOP_SIGNAL, O_STOP_TIMEOUT, O_NETWORK, O_TMPFS, O_SIG_PROXY, O_HELP,
	O_EXPLAIN, O_DRY_RUN, O_USERNS, O_UIDMAP, O_GIDMAP,
	O_IP, O_IP6, O_MAC, O_DNS, O_DNS_SEARCH, O_DNS_OPTION, O_ADD_HOST, O_NET_ALIAS, O_NETNS_NAME,
	O_DETACH_KEYS,
	O_HEALTH_CMD, O_HEALTH_INTERVAL, O_HEALTH_TIMEOUT, O_HEALTH_RETRIES, O_HEALTH_START_PERIOD,
	O_HEALTH_START_INTERVAL, O_HEALTH_ON_FAILURE, O_NO_HEALTHCHECK,
	O_DEVICE, O_SYSCTL, O_SHM_SIZE, O_GROUP_ADD, O_OOM_KILL_DISABLE, O_OOM_SCORE_ADJ, O_IPC, O_UTS, O_PID,
	O_CGROUPNS, O_CGROUP_PARENT, O_ANNOTATION, O_MEMORY_RESERVATION, O_CPU_PERIOD, O_CPU_QUOTA, O_CPUSET_MEMS,
	O_BLKIO_WEIGHT, O_DEV_READ_BPS, O_DEV_WRITE_BPS, O_DEV_READ_IOPS, O_DEV_WRITE_IOPS, O_CIDFILE, O_PLATFORM,
	O_RUNTIME, O_LOG_DRIVER, O_LABEL_FILE, O_PULL,
};

static const struct option run_opts[] = {
	{ "detach", no_argument, NULL, 'd' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "rm", no_argument, NULL, O_RM },
	{ "name", required_argument, NULL, O_NAME },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, O_ENV_FILE },
	{ "volume", required_argument, NULL, 'v' },
	{ "mount", required_argument, NULL, O_MOUNT },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "hostname", required_argument, NULL, 'h' },
	{ "entrypoint", required_argument, NULL, O_ENTRYPOINT },
	{ "memory", required_argument, NULL, 'm' },
	{ "memory-swap", required_argument, NULL, O_MEMORY_SWAP },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "cpu-shares", required_argument, NULL, 'c' },
	{ "cpuset-cpus", required_argument, NULL, O_CPUSET },
	{ "pids-limit", required_argument, NULL, O_PIDS },
	{ "read-only", no_argument, NULL, O_READ_ONLY },
	{ "cap-add", required_argument, NULL, O_CAP_ADD },
	{ "cap-drop", required_argument, NULL, O_CAP_DROP },
	{ "privileged", no_argument, NULL, O_PRIVILEGED },
	{ "security-opt", required_argument, NULL, O_SECOPT },
	{ "ulimit", required_argument, NULL, O_ULIMIT },
	{ "init", no_argument, NULL, O_INIT },
	{ "userns", required_argument, NULL, O_USERNS },
	{ "uidmap", required_argument, NULL, O_UIDMAP },
	{ "gidmap", required_argument, NULL, O_GIDMAP },
	{ "restart", required_argument, NULL, O_RESTART },
	{ "stop-signal", required_argument, NULL, O_STOP_SIGNAL },
	{ "stop-timeout", required_argument, NULL, O_STOP_TIMEOUT },
	{ "label", required_argument, NULL, 'l' },
	{ "network", required_argument, NULL, O_NETWORK },
	{ "net", required_argument, NULL, O_NETWORK },
	{ "tmpfs", required_argument, NULL, O_TMPFS },
	{ "publish", required_argument, NULL, 'p' },
	{ "publish-all", no_argument, NULL, 'P' },
	{ "ip", required_argument, NULL, O_IP },
	{ "ip6", required_argument, NULL, O_IP6 },
	{ "mac-address", required_argument, NULL, O_MAC },
	{ "dns", required_argument, NULL, O_DNS },
	{ "dns-search", required_argument, NULL, O_DNS_SEARCH },
	{ "dns-option", required_argument, NULL, O_DNS_OPTION },
	{ "dns-opt", required_argument, NULL, O_DNS_OPTION },
	{ "add-host", required_argument, NULL, O_ADD_HOST },
	{ "network-alias", required_argument, NULL, O_NET_ALIAS },
	{ "net-alias", required_argument, NULL, O_NET_ALIAS },
	{ "netns-name", required_argument, NULL, O_NETNS_NAME },
	{ "log-opt", required_argument, NULL, O_LOG_OPT },
	{ "sig-proxy", optional_argument, NULL, O_SIG_PROXY },
	{ "detach-keys", required_argument, NULL, O_DETACH_KEYS },
	{ "attach", required_argument, NULL, 'a' },
	{ "health-cmd", required_argument, NULL, O_HEALTH_CMD },
	{ "health-interval", required_argument, NULL, O_HEALTH_INTERVAL },
	{ "health-timeout", required_argument, NULL, O_HEALTH_TIMEOUT },
	{ "health-retries", required_argument, NULL, O_HEALTH_RETRIES },
	{ "health-start-period", required_argument, NULL, O_HEALTH_START_PERIOD },
	{ "health-start-interval", required_argument, NULL, O_HEALTH_START_INTERVAL },
	{ "health-on-failure", required_argument, NULL, O_HEALTH_ON_FAILURE },
	{ "no-healthcheck", no_argument, NULL, O_NO_HEALTHCHECK },
	{ "device", required_argument, NULL, O_DEVICE },
	{ "sysctl", required_argument, NULL, O_SYSCTL },
	{ "shm-size", required_argument, NULL, O_SHM_SIZE },
	{ "group-add", required_argument, NULL, O_GROUP_ADD },
	{ "oom-kill-disable", no_argument, NULL, O_OOM_KILL_DISABLE },
	{ "oom-score-adj", required_argument, NULL, O_OOM_SCORE_ADJ },
	{ "ipc", required_argument, NULL, O_IPC },
	{ "uts", required_argument, NULL, O_UTS },
	{ "pid", required_argument, NULL, O_PID },
	{ "cgroupns", required_argument, NULL, O_CGROUPNS },
	{ "cgroup-parent", required_argument, NULL, O_CGROUP_PARENT },
	{ "annotation", required_argument, NULL, O_ANNOTATION },
	{ "memory-reservation", required_argument, NULL, O_MEMORY_RESERVATION },
	{ "cpu-period", required_argument, NULL, O_CPU_PERIOD },
	{ "cpu-quota", required_argument, NULL, O_CPU_QUOTA },
	{ "cpuset-mems", required_argument, NULL, O_CPUSET_MEMS },
	{ "blkio-weight", required_argument, NULL, O_BLKIO_WEIGHT },
	{ "device-read-bps", required_argument, NULL, O_DEV_READ_BPS },
	{ "device-write-bps", required_argument, NULL, O_DEV_WRITE_BPS },
	{ "device-read-iops", required_argument, NULL, O_DEV_READ_IOPS },
	{ "device-write-iops", required_argument, NULL, O_DEV_WRITE_IOPS },
	{ "cidfile", required_argument, NULL, O_CIDFILE },
	{ "platform", required_argument, NULL, O_PLATFORM },
	{ "runtime", required_argument, NULL, O_RUNTIME },
	{ "log-driver", required_argument, NULL, O_LOG_DRIVER },
	{ "label-file", required_argument, NULL, O_LABEL_FILE },
	{ "pull", required_argument, NULL, O_PULL },
	{ "help", no_argument, NULL, O_HELP },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ 0 },
};

static void run_usage(const char *cmd)
{
	printf("Usage: cell %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n%s\n\n"
	       "Options:\n"
	       "  -d, --detach               run in the background, print the container id\n"
	       "  -i, --interactive          keep stdin open\n"
	       "  -t, --tty                  allocate a pseudo-terminal\n"
	       "      --detach-keys KEYS     keys that detach from -it, leaving it running under its\n"
	       "                             monitor (default \"ctrl-p,ctrl-q\"; `cell attach` comes back)\n"
	       "      --rm                   remove the container when it exits\n"
	       "      --name NAME            container name\n"
	       "  -e, --env K=V              set an environment variable (K alone: from ours)\n"
	       "      --env-file FILE        read variables from a file\n"
	       "  -v, --volume HOST:CTR[:ro] bind mount (HOST absolute); NAME:CTR[:ro][,nocopy] a named\n"
	       "                             volume, made on first use; CTR alone an anonymous volume\n"
	       "      --mount type=bind|volume|tmpfs,source=,target=[,readonly][,volume-nocopy]\n"
	       "      --tmpfs PATH           mount a tmpfs\n"
	       "  -w, --workdir DIR          working directory\n"
	       "  -u, --user USER[:GROUP]    user name or uid\n"
	       "  -h, --hostname NAME        hostname\n"
	       "      --entrypoint CMD       override the image's entrypoint\n"
	       "  -m, --memory SIZE          memory limit (512m, 1g)\n"
	       "      --memory-swap SIZE     memory plus swap limit, -1 for unlimited swap\n"
	       "      --cpus N               number of CPUs (1.5)\n"
	       "  -c, --cpu-shares N         relative CPU weight\n"
	       "      --cpuset-cpus LIST     CPUs allowed (0-1,3)\n"
	       "      --pids-limit N         maximum number of processes\n"
	       "      --read-only            read-only root file system\n"
	       "      --cap-add CAP, --cap-drop CAP\n"
	       "      --privileged           every capability, no seccomp, no masked paths\n"
	       "      --security-opt OPT     no-new-privileges, seccomp=unconfined|FILE\n"
	       "      --init                 run cell-init as process 1: forwards signals, reaps zombies\n"
	       "      --userns MODE          host (default) or auto: a user namespace on a free range of\n"
	       "                             65536 host ids (/etc/subuid's `containers`, else above 100000)\n"
	       "      --uidmap CTR:HOST:N, --gidmap CTR:HOST:N   a user namespace with these mappings\n"
	       "      --ulimit NAME=SOFT[:HARD]\n"
	       "      --restart POLICY       no, on-failure[:N], always, unless-stopped\n"
	       "      --stop-signal SIG, --stop-timeout SECONDS\n"
	       "  -l, --label K=V            set metadata\n"
	       "      --log-opt max-size=SIZE  rotate the log (ctr.log → ctr.log.1) past SIZE (10m)\n"
	       "      --network MODE         bridge (default: network cell0), none, host, a network name,\n"
	       "                             container:NAME|ID (share its network namespace) or\n"
	       "                             phys:HOSTIF (move a host interface in, given back at stop);\n"
	       "                             several networks: --network a --network b or a,b (the\n"
	       "                             first holds the default route); per network, as Docker 25:\n"
	       "                             --network name=NET,ip=IP,ip6=IP,alias=A,mac-address=MAC\n"
	       "      --ip ADDR, --ip6 ADDR  address on the first network (IPv6: the network's dual stack)\n"
	       "      --mac-address MAC      MAC address on the first network\n"
	       "      --network-alias NAME   another name the first network's containers resolve\n"
	       "      --dns IP, --dns-search DOMAIN, --dns-option OPT   the container's resolv.conf\n"
	       "      --add-host NAME:IP     a line in /etc/hosts (IP host-gateway: the network's gateway)\n"
	       "      --netns-name NAME      bind the network namespace at /run/netns/NAME while it runs\n"
	       "                             (`ip netns exec NAME ...`)\n"
	       "  -p, --publish [IP:][HOST:]PORT[/udp]  publish a container port on the host (IPv6 too on\n"
	       "                             a dual-stack network; IP may be [IPv6], not [::1])\n"
	       "  -P, --publish-all          publish every EXPOSEd port of the image on a free host port\n"
	       "      --health-cmd CMD       healthcheck: CMD run with /bin/sh -c inside the container by its\n"
	       "                             monitor (no daemon, no systemd timer); overrides HEALTHCHECK\n"
	       "      --health-interval D, --health-timeout D   between checks, and before one is killed\n"
	       "                             and failed (30s, 30s; D: 30s, 1m30s, 500ms)\n"
	       "      --health-retries N     failures in a row that make it unhealthy (3)\n"
	       "      --health-start-period D, --health-start-interval D   failures do not count for D,\n"
	       "                             checked every D meanwhile (0s, 5s)\n"
	       "      --health-on-failure ACTION   none (default), kill, restart or stop when unhealthy\n"
	       "      --no-healthcheck       disable the image's HEALTHCHECK\n"
	       "      --device HOST[:CTR[:rwm]]   a host device node in the container\n"
	       "      --device-read-bps, --device-write-bps PATH:RATE (1mb)\n"
	       "      --device-read-iops, --device-write-iops PATH:N   block IO limits of a device\n"
	       "      --blkio-weight N       block IO weight, 10 to 1000\n"
	       "      --memory-reservation SIZE  soft memory limit\n"
	       "      --oom-kill-disable     the OOM killer leaves it alone\n"
	       "      --oom-score-adj N      -1000 to 1000\n"
	       "      --cpu-period US, --cpu-quota US   the CFS period and quota (not with --cpus)\n"
	       "      --cpuset-mems LIST     memory nodes allowed\n"
	       "      --sysctl K=V           a namespaced sysctl (kernel.msg*, kernel.sem, kernel.shm*,\n"
	       "                             fs.mqueue.*, net.*; net.* not with --network host)\n"
	       "      --shm-size SIZE        size of /dev/shm (64m)\n"
	       "      --group-add GROUP      another group (name from the image's /etc/group, or gid)\n"
	       "      --ipc MODE             private (default), shareable, host or none (no /dev/shm)\n"
	       "      --uts host, --pid host the host's UTS or pid namespace\n"
	       "      --cgroupns MODE        host or private (default: private on cgroup v2 only)\n"
	       "      --cgroup-parent PATH   the cgroup below which the container's is made\n"
	       "      --annotation K=V       an annotation of the runtime config\n"
	       "      --label-file FILE      labels, KEY=VALUE lines\n"
	       "      --cidfile FILE         write the container id to FILE (which must not exist)\n"
	       "      --pull POLICY          missing (pull when not here), always, never (default)\n"
	       "      --platform linux/ARCH  only this machine's; --runtime runc|cell-runtime (built in);\n"
	       "      --log-driver DRIVER    json-file (default) or none (a detached container's output\n"
	       "                             is not kept)\n"
	       "      --explain              first print the unshare/mount/ip/nft/nsenter commands\n"
	       "                             that build the same container by hand, each explained\n"
	       "      --dry-run              with --explain: print them only, create nothing\n",
	       cmd, streq(cmd, "run") ? "Create and start a container." : "Create a container without starting it.");
}

struct run_args {
	struct cell_run_request req;
	char **cmd;
	bool explain, dry_run;
	const char *detach_keys;	/* --detach-keys, checked */
	const char *cidfile, *platform, *runtime, *pull;	/* run_flags.c */
	char **label_files, **file_labels;
};

static void run_args_free(struct run_args *a)
{
	struct cell_run_request *r = &a->req;
	free(r->env);
	free(r->env_files);
	free(r->volumes);
	free(r->mounts);
	free(r->labels);
	free(r->cap_add);
	free(r->cap_drop);
	free(r->ulimits);
	free(r->security_opts);
	free(r->tmpfs);
	free(r->publish);
	free(r->log_opts);
	free(r->uidmaps);
	free(r->gidmaps);
	free(r->networks);
	free(r->network_aliases);
	free(r->dns);
	free(r->dns_search);
	free(r->dns_options);
	free(r->add_hosts);
	free(r->devices);
	free(r->sysctls);
	free(r->group_add);
	free(r->annotations);
	free(r->device_read_bps);
	free(r->device_write_bps);
	free(r->device_read_iops);
	free(r->device_write_iops);
	free(a->label_files);
	strv_free(a->file_labels);
}

/* Returns 1 when help was printed. */
static int parse_run(int argc, char **argv, struct run_args *a, cell_error **err)
{
	struct cell_run_request *r = &a->req;
	int c;
	while ((c = getopt_long(argc, argv, "+dite:v:w:u:h:m:c:l:a:p:P", run_opts, NULL)) != -1) {
		switch (c) {
		case 'd': r->detach = true; break;
		case 'i': r->interactive = true; break;
		case 't': r->tty = true; break;
		case O_RM: r->rm = true; break;
		case O_NAME: r->name = optarg; break;
		case 'e': cli_strv_push(&r->env, optarg); break;
		case O_ENV_FILE: cli_strv_push(&r->env_files, optarg); break;
		case 'v': cli_strv_push(&r->volumes, optarg); break;
		case 'p': cli_strv_push(&r->publish, optarg); break;
		case O_LOG_OPT: cli_strv_push(&r->log_opts, optarg); break;
		case O_MOUNT: cli_strv_push(&r->mounts, optarg); break;
		case O_TMPFS: cli_strv_push(&r->tmpfs, optarg); break;
		case 'w': r->workdir = optarg; break;
		case 'u': r->user = optarg; break;
		case 'h': r->hostname = optarg; break;
		case O_ENTRYPOINT: r->entrypoint = optarg; r->entrypoint_set = true; break;
		case 'm': r->memory = optarg; break;
		case O_MEMORY_SWAP: r->memory_swap = optarg; break;
		case O_CPUS: r->cpus = optarg; break;
		case 'c': r->cpu_shares = optarg; break;
		case O_CPUSET: r->cpuset_cpus = optarg; break;
		case O_PIDS: r->pids_limit = optarg; break;
		case O_READ_ONLY: r->read_only = true; break;
		case O_CAP_ADD: cli_strv_push(&r->cap_add, optarg); break;
		case O_CAP_DROP: cli_strv_push(&r->cap_drop, optarg); break;
		case O_PRIVILEGED: r->privileged = true; break;
		case O_SECOPT: cli_strv_push(&r->security_opts, optarg); break;
		case O_ULIMIT: cli_strv_push(&r->ulimits, optarg); break;
		case O_INIT: r->init = true; break;
		case O_USERNS: r->userns = optarg; break;
		case O_UIDMAP: cli_strv_push(&r->uidmaps, optarg); break;
		case O_GIDMAP: cli_strv_push(&r->gidmaps, optarg); break;
		case O_RESTART: r->restart = optarg; break;
		case O_STOP_SIGNAL: r->stop_signal = optarg; break;
		case O_STOP_TIMEOUT: r->stop_timeout = optarg; break;
		case 'l': cli_strv_push(&r->labels, optarg); break;
		case O_NETWORK:
			if (!r->network)
				r->network = optarg;
			cli_strv_push(&r->networks, optarg);
			break;
		case 'P': r->publish_all = true; break;
		case O_IP: r->ip = optarg; break;
		case O_IP6: r->ip6 = optarg; break;
		case O_MAC: r->mac_address = optarg; break;
		case O_DNS: cli_strv_push(&r->dns, optarg); break;
		case O_DNS_SEARCH: cli_strv_push(&r->dns_search, optarg); break;
		case O_DNS_OPTION: cli_strv_push(&r->dns_options, optarg); break;
		case O_ADD_HOST: cli_strv_push(&r->add_hosts, optarg); break;
		case O_NET_ALIAS: cli_strv_push(&r->network_aliases, optarg); break;
		case O_NETNS_NAME: r->netns_name = optarg; break;
		case O_SIG_PROXY: case 'a': break;
		case O_DETACH_KEYS: {
			unsigned char keys[CELL_DETACH_KEYS_MAX];
			size_t n;
			if (cell_detach_keys_parse(optarg, keys, &n, err) < 0)
				return -1;
			a->detach_keys = optarg;
			break;
		}
		case O_HEALTH_CMD: r->health_cmd = optarg; break;
		case O_HEALTH_INTERVAL: r->health_interval = optarg; break;
		case O_HEALTH_TIMEOUT: r->health_timeout = optarg; break;
		case O_HEALTH_RETRIES: r->health_retries = optarg; break;
		case O_HEALTH_START_PERIOD: r->health_start_period = optarg; break;
		case O_HEALTH_START_INTERVAL: r->health_start_interval = optarg; break;
		case O_HEALTH_ON_FAILURE: r->health_on_failure = optarg; break;
		case O_NO_HEALTHCHECK: r->no_healthcheck = true; break;
		case O_DEVICE: cli_strv_push(&r->devices, optarg); break;
		case O_SYSCTL: cli_strv_push(&r->sysctls, optarg); break;
		case O_SHM_SIZE: r->shm_size = optarg; break;
		case O_GROUP_ADD: cli_strv_push(&r->group_add, optarg); break;
		case O_OOM_KILL_DISABLE: r->oom_kill_disable = true; break;
		case O_OOM_SCORE_ADJ: r->oom_score_adj = optarg; break;
		case O_IPC: r->ipc = optarg; break;
		case O_UTS: r->uts = optarg; break;
		case O_PID: r->pid = optarg; break;
		case O_CGROUPNS: r->cgroupns = optarg; break;
		case O_CGROUP_PARENT: r->cgroup_parent = optarg; break;
		case O_ANNOTATION: cli_strv_push(&r->annotations, optarg); break;
		case O_MEMORY_RESERVATION: r->memory_reservation = optarg; break;
		case O_CPU_PERIOD: r->cpu_period = optarg; break;
		case O_CPU_QUOTA: r->cpu_quota = optarg; break;
		case O_CPUSET_MEMS: r->cpuset_mems = optarg; break;
		case O_BLKIO_WEIGHT: r->blkio_weight = optarg; break;
		case O_DEV_READ_BPS: cli_strv_push(&r->device_read_bps, optarg); break;
		case O_DEV_WRITE_BPS: cli_strv_push(&r->device_write_bps, optarg); break;
		case O_DEV_READ_IOPS: cli_strv_push(&r->device_read_iops, optarg); break;
		case O_DEV_WRITE_IOPS: cli_strv_push(&r->device_write_iops, optarg); break;
		case O_CIDFILE: a->cidfile = optarg; break;
		case O_PLATFORM: a->platform = optarg; break;
		case O_RUNTIME: a->runtime = optarg; break;
		case O_LOG_DRIVER: r->log_driver = optarg; break;
		case O_LABEL_FILE: cli_strv_push(&a->label_files, optarg); break;
		case O_PULL: a->pull = optarg; break;
		case O_HELP: run_usage(argv[0]); return 1;
		case O_EXPLAIN: a->explain = true; break;
		case O_DRY_RUN: a->dry_run = true; break;
		default:
			return cell_error_set(err, "%s: bad option (see `cell %s --help`)", argv[0], argv[0]);
		}
	}
	if (optind >= argc)
		return cell_error_set(err, "`cell %s` requires at least 1 argument: the image", argv[0]);
	r->image = argv[optind];
	r->cmd = argc > optind + 1 ? argv + optind + 1 : NULL;
	if (cli_run_flags_check(a->platform, a->runtime, r->log_driver, a->pull, a->cidfile, err) < 0 ||
	    cli_label_files(a->label_files, &a->file_labels, err) < 0)
		return -1;
	for (size_t i = 0; a->file_labels && a->file_labels[i]; i++)
		cli_strv_push(&r->labels, a->file_labels[i]);
	return 0;
}

static int create_or_run(int argc, char **argv, bool run, cell_error **err)
{
	struct run_args a = { 0 };
	struct cell_engine *e = NULL;
	_cleanup_free_ char *id = NULL;
	int status = EXIT_CELL;
	int r = parse_run(argc, argv, &a, err);
	if (r != 0) {
		run_args_free(&a);
		return r > 0 ? 0 : EXIT_CELL;
	}
	if (!run)
		a.req.detach = true;
	if (a.dry_run && !a.explain) {
		cell_error_set(err, "--dry-run goes with --explain (nothing else to show)");
		goto out;
	}
	if (cli_engine_open(&e, err) < 0)
		goto out;
	e->detach_keys = a.detach_keys;
	if (a.explain) {
		if (cell_explain_run(stdout, e, &a.req, err) < 0)
			goto out;
		fflush(stdout);
		if (a.dry_run) {
			status = 0;
			goto out;
		}
	}
	if (cli_run_pull(e, a.req.image, a.pull, err) < 0 || cell_ctr_create(e, &a.req, &id, err) < 0)
		goto out;
	if (cli_cidfile_write(a.cidfile, id, err) < 0)
		goto out;
	if (!run) {
		printf("%s\n", id);
		status = 0;
	} else if (a.req.detach) {
		if (cell_ctr_start(e, id, err) < 0) {
			status = cell_ctr_exit_code(*err);
			goto out;
		}
		printf("%s\n", id);
		status = 0;
	} else if (cell_ctr_run_attached(e, id, &status, err) < 0) {
		status = cell_ctr_exit_code(*err);
	}
out:
	fflush(stdout);
	cell_engine_free(e);
	run_args_free(&a);
	return status;
}

int cmd_run(int argc, char **argv, cell_error **err)
{
	return create_or_run(argc, argv, true, err);
}

int cmd_create(int argc, char **argv, cell_error **err)
{
	return create_or_run(argc, argv, false, err);
}

/* Apply fn to each container named in argv[first..]; print the argument on
 * success as Docker does; errors are printed one line each. */
int cli_each(int argc, char **argv, int first, bool print,
	     int (*fn)(struct cell_engine *e, const char *id, void *data, cell_error **err), void *data,
	     cell_error **err)
{
	if (first >= argc)
		return cell_error_set(err, "`cell %s` requires at least 1 container", argv[0]), EXIT_CELL;
	struct cell_engine *e = NULL;
	if (cli_engine_open(&e, err) < 0)
		return EXIT_CELL;
	int status = 0;
	for (int i = first; i < argc; i++) {
		_cleanup_free_ char *id = NULL;
		cell_error *x = NULL;
		if (cli_lookup(e, argv[i], &id, &x) < 0 || fn(e, id, data, &x) < 0) {
			if (first + 1 == argc) {
				*err = x;
			} else {
				fprintf(stderr, "cell: %s\n", x->msg);
				cell_error_free(&x);
			}
			status = EXIT_CELL;
			continue;
		}
		if (print)
			printf("%s\n", argv[i]);
	}
	fflush(stdout);
	cell_engine_free(e);
	return status;
}
