/* The API's system routes: /_ping, /version, /info. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "api.h"
#include "../cli/commands.h"
#include "util.h"

static void ping(struct api_req *r)
{
	/* Builder-Version 1: the classic builder's endpoint (POST /build) */
	api_reply_text(r, 200, "text/plain; charset=utf-8", "OK");
}

static const char *go_arch(const char *m)
{
	if (streq(m, "x86_64"))
		return "amd64";
	if (streq(m, "aarch64"))
		return "arm64";
	return m;
}

static void version(struct api_req *r)
{
	struct utsname u;
	uname(&u);
	json_object *o = json_object_new_object();
	json_object *plat = json_object_new_object();
	json_object_object_add(plat, "Name", json_object_new_string("cell " CELL_VERSION));
	json_object_object_add(o, "Platform", plat);
	json_object *comps = json_object_new_array();
	json_object *engine = json_object_new_object();
	json_object_object_add(engine, "Name", json_object_new_string("Engine"));
	json_object_object_add(engine, "Version", json_object_new_string(CELL_VERSION));
	json_object *det = json_object_new_object();
	json_object_object_add(det, "ApiVersion", json_object_new_string(API_VERSION_MAX));
	json_object_object_add(det, "MinAPIVersion", json_object_new_string(API_VERSION_MIN));
	json_object_object_add(det, "Os", json_object_new_string("linux"));
	json_object_object_add(det, "Arch", json_object_new_string(go_arch(u.machine)));
	json_object_object_add(det, "KernelVersion", json_object_new_string(u.release));
	json_object_object_add(engine, "Details", det);
	json_object_array_add(comps, engine);
	json_object *rt = json_object_new_object();
	json_object_object_add(rt, "Name", json_object_new_string("cell-runtime"));
	json_object_object_add(rt, "Version", json_object_new_string(CELL_VERSION));
	json_object_array_add(comps, rt);
	json_object_object_add(o, "Components", comps);
	json_object_object_add(o, "Version", json_object_new_string(CELL_VERSION));
	json_object_object_add(o, "ApiVersion", json_object_new_string(API_VERSION_MAX));
	json_object_object_add(o, "MinAPIVersion", json_object_new_string(API_VERSION_MIN));
	json_object_object_add(o, "GitCommit", json_object_new_string(""));
	json_object_object_add(o, "GoVersion", json_object_new_string("none (C)"));
	json_object_object_add(o, "Os", json_object_new_string("linux"));
	json_object_object_add(o, "Arch", json_object_new_string(go_arch(u.machine)));
	json_object_object_add(o, "KernelVersion", json_object_new_string(u.release));
	json_object_object_add(o, "BuildTime", json_object_new_string(__DATE__ " " __TIME__));
	api_reply_json(r, 200, o);
}

static void info(struct api_req *r)
{
	api_lock();
	json_object *o = cli_info_json(r->engine);
	api_unlock();
	/* fields clients read without checking */
	if (!json_object_object_get_ex(o, "ID", NULL))
		json_object_object_add(o, "ID", json_object_new_string(""));
	json_object_object_add(o, "IndexServerAddress", json_object_new_string("https://index.docker.io/v1/"));
	json_object_object_add(o, "Swarm", json_object_new_object());
	json_object_object_add(o, "Plugins", json_object_new_object());
	json_object_object_add(o, "RegistryConfig", json_object_new_object());
	api_reply_json(r, 200, o);
}

const struct api_route api_routes_system[] = {
	{ "GET", "/_ping", ping },
	{ "HEAD", "/_ping", ping },
	{ "GET", "/version", version },
	{ "GET", "/info", info },
	{ NULL, NULL, NULL },
};
