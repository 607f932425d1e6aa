/* Unit tests of the image store's pure parts: references, digests, chain
 * ids, blob verification, --change lines, config parsing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "json.h"
#include "tap.h"
#include "util.h"

static void ref_ok(const char *in, const char *domain, const char *path, const char *tag, const char *digest,
		   const char *familiar)
{
	struct cell_ref r;
	cell_error *err = NULL;
	int rc = cell_ref_parse(in, &r, &err);
	OK(rc == 0, "parse `%s`%s%s", in, err ? ": " : "", err ? err->msg : "");
	if (rc < 0) {
		cell_error_free(&err);
		return;
	}
	IS_STR(r.domain, domain, "domain");
	IS_STR(r.path, path, "path");
	IS_STR(r.tag, tag, "tag");
	IS_STR(r.digest, digest, "digest");
	char *f = cell_ref_familiar(&r);
	IS_STR(f, familiar, "familiar form");
	free(f);
	cell_ref_clear(&r);
}

static void ref_bad(const char *in, const char *want)
{
	struct cell_ref r;
	cell_error *err = NULL;
	int rc = cell_ref_parse(in, &r, &err);
	OK(rc < 0 && err && strstr(err->msg, want), "`%s` refused with \"%s\"", in, want);
	if (err)
		printf("#   %s\n", err->msg);
	if (rc == 0)
		cell_ref_clear(&r);
	cell_error_free(&err);
}

static void test_refs(void)
{
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *x;

	ref_ok("busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest");
	ref_ok("busybox:1", "docker.io", "library/busybox", "1", NULL, "busybox:1");
	ref_ok("localhost:5000/a/b:tag", "localhost:5000", "a/b", "tag", NULL, "localhost:5000/a/b:tag");
	ref_ok("localhost/a", "localhost", "a", "latest", NULL, "localhost/a:latest");
	ref_ok("quay.io/x/y-z_w.v:1.2-rc", "quay.io", "x/y-z_w.v", "1.2-rc", NULL, "quay.io/x/y-z_w.v:1.2-rc");
	ref_ok("library/busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest");
	ref_ok("docker.io/library/busybox:musl", "docker.io", "library/busybox", "musl", NULL, "busybox:musl");
	ref_ok("user/app", "docker.io", "user/app", "latest", NULL, "user/app:latest");
	x = xasprintf("x@%s", d);
	char *fam = xasprintf("x@%s", d);
	ref_ok(x, "docker.io", "library/x", NULL, d, fam);
	free(x);
	free(fam);
	x = xasprintf("r.io/x:t@%s", d);
	ref_ok(x, "r.io", "x", "t", d, x);
	free(x);

	ref_bad("", "empty");
	ref_bad("Busybox", "must be lowercase");
	ref_bad("busybox:", "invalid tag");
	ref_bad("busybox:-x", "invalid tag");
	ref_bad("x@sha256:123", "digest");
	ref_bad("a//b", "invalid reference format");
	ref_bad("a/-b", "invalid reference format");
	ref_bad("a..b", "invalid reference format");
	ref_bad("bad host:5000/x", "invalid reference format");

	char *k1 = store_name_key("busybox"), *k2 = store_name_key("docker.io/library/busybox:latest");
	IS_STR(k1, k2, "name keys of `busybox` and `docker.io/library/busybox:latest` agree");
	free(k1);
	free(k2);
}

static void test_digests(void)
{
	char d[CELL_DIGEST_LEN + 1], c[CELL_DIGEST_LEN + 1];

	cell_sha256_data("abc", 3, d);
	IS_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(\"abc\")");
	cell_sha256_data("", 0, d);
	IS_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256(\"\")");
	OK(cell_digest_valid(d), "a real digest is valid");
	OK(!cell_digest_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
	   "upper-case hex refused");
	OK(!cell_digest_valid("sha512:e3b0"), "other algorithm refused");
	OK(!cell_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"), "short refused");
	OK(!cell_digest_valid("sha256:../../../../../../../../../../../../../../../../../../../etc/x"), "path refused");

	/* chain ids: first = diff id; next = sha256("<parent> <diff>") */
	cell_chain_id(NULL, d, c);
	IS_STR(c, d, "chain id of the bottom layer is its diff id");
	char e[CELL_DIGEST_LEN + 1], want[CELL_DIGEST_LEN + 1];
	cell_chain_id(c, d, e);
	char *s = xasprintf("%s %s", d, d);
	cell_sha256_data(s, strlen(s), want);
	free(s);
	IS_STR(e, want, "chain id of the second layer");
}

static void test_blobs(void)
{
	char tmpl[] = "/tmp/cell-unit-image.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct cell_store *s = NULL;
	cell_error *err = NULL;
	char d[CELL_DIGEST_LEN + 1];

	OK(root && cell_store_open(root, &s, &err) == 0, "open a store in a temp dir");
	if (!s)
		return;
	OK(cell_blob_put_data(s, "abc", 3, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			      d, &err) == 0, "blob with the right digest stored");
	OK(cell_blob_exists(s, d), "blob present under its digest");
	int rc = cell_blob_put_data(s, "abd", 3, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
				    d, &err);
	OK(rc < 0 && err && strstr(err->msg, "digest mismatch"), "blob with the wrong content refused");
	cell_error_free(&err);

	/* through a file descriptor, as layers arrive */
	char path[] = "/tmp/cell-unit-blob.XXXXXX";
	int fd = mkstemp(path);
	OK(fd >= 0 && write(fd, "hello\n", 6) == 6 && lseek(fd, 0, SEEK_SET) == 0, "temp file written");
	uint64_t size = 0;
	rc = cell_blob_put_fd(s, fd, "sha256:0000000000000000000000000000000000000000000000000000000000000000", d, &size, &err);
	OK(rc < 0 && err && strstr(err->msg, "digest mismatch"), "fd blob with a wrong digest refused");
	cell_error_free(&err);
	lseek(fd, 0, SEEK_SET);
	rc = cell_blob_put_fd(s, fd, NULL, d, &size, &err);
	OK(rc == 0 && size == 6, "fd blob stored (6 bytes)");
	IS_STR(d, "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "digest of \"hello\\n\"");
	close(fd);
	unlink(path);
	char *leftover = xasprintf("ls -A %s/blobs/sha256 | grep -c tmp >/dev/null", root);
	OK(system(leftover) != 0, "no temp file left beside the blobs");
	free(leftover);

	cell_store_free(s);
	char *rm = xasprintf("rm -rf %s", root);
	if (system(rm) != 0)
		printf("# could not remove %s\n", root);
	free(rm);
}

static void test_changes(void)
{
	json_object *cfg = json_object_new_object();
	cell_error *err = NULL;
	static const char *ok_lines[] = {
		"CMD [\"sh\", \"-c\", \"echo hi\"]", "ENTRYPOINT /bin/init --x", "ENV A=1 B=\"two words\"",
		"ENV C three words", "WORKDIR /srv", "USER 1000:1000", "EXPOSE 80 53/udp", "LABEL a=b",
		"VOLUME [\"/data\"]", "STOPSIGNAL SIGTERM", "cmd [\"late\"]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok_lines); i++) {
		int rc = cell_image_config_change(cfg, ok_lines[i], &err);
		OK(rc == 0, "change `%s`%s%s", ok_lines[i], err ? ": " : "", err ? err->msg : "");
		cell_error_free(&err);
	}
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "config", cfg);
	struct cell_image_config c;
	OK(cell_image_config_parse(doc, &c, &err) == 0, "config parses");
	IS_STR(c.cmd ? c.cmd[0] : NULL, "late", "CMD after ENTRYPOINT kept");
	IS_STR(c.entrypoint ? c.entrypoint[2] : NULL, "/bin/init --x", "shell form ENTRYPOINT runs through sh -c");
	IS_INT(c.env ? strv_len(c.env) : 0, 3, "three Env entries");
	IS_STR(c.env ? c.env[1] : NULL, "B=two words", "quoted ENV value");
	IS_STR(c.env ? c.env[2] : NULL, "C=three words", "ENV KEY value form");
	IS_STR(c.working_dir, "/srv", "WorkingDir");
	IS_STR(c.user, "1000:1000", "User");
	IS_INT(c.exposed_ports ? strv_len(c.exposed_ports) : 0, 2, "two ExposedPorts");
	IS_STR(c.exposed_ports ? c.exposed_ports[0] : NULL, "80/tcp", "bare port gets /tcp");
	IS_STR(c.volumes ? c.volumes[0] : NULL, "/data", "Volumes");
	IS_STR(c.labels ? c.labels[0] : NULL, "a=b", "Labels");
	IS_STR(c.stop_signal, "SIGTERM", "StopSignal");
	cell_image_config_clear(&c);
	json_object_put(doc);

	static const char *bad[] = { "RUN echo", "EXPOSE 99999", "EXPOSE 80/xyz", "CMD [1,2]", "CMD", "ENV" };
	cfg = json_object_new_object();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = cell_image_config_change(cfg, bad[i], &err);
		OK(rc < 0 && err, "change `%s` refused: %s", bad[i], err ? err->msg : "(accepted)");
		cell_error_free(&err);
	}
	json_object_put(cfg);

	/* a config of the wrong shape names the field */
	json_object *bad_doc = NULL;
	cj_parse_string("t", "{\"config\":{\"Cmd\":\"sh\"}}", &bad_doc, &err);
	OK(cell_image_config_parse(bad_doc, &c, &err) < 0 && err && strstr(err->msg, "Cmd"),
	   "Cmd as a string refused, naming the field");
	cell_error_free(&err);
	cell_image_config_clear(&c);
	json_object_put(bad_doc);
}

int main(void)
{
	test_refs();
	test_digests();
	test_blobs();
	test_changes();
	return TAP_DONE();
}
