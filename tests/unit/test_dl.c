/* src/lib/core/dl.c: libraries loaded on demand, and errors that say which
 * library, which package and why. */
#include <stdlib.h>
#include <string.h>

#include "dl.h"
#include "dl-archive.h"
#include "dl-curl.h"
#include "dl-nft.h"
#include "tap.h"

static double (*sym_my_cos)(double);
static int (*sym_missing)(void);

static void test_many(void)
{
	cell_error *err = NULL;
	void *h = NULL;
	const struct cell_dl_sym bad_lib[] = { { (void **)&sym_my_cos, "cos" } };
	IS_INT(cell_dlopen_many(&h, "libcell-no-such.so.7", "cell-no-such7", bad_lib, 1, &err), -1,
	       "a missing library fails");
	OK(err && strstr(err->msg, "`libcell-no-such.so.7`") && strstr(err->msg, "install Debian package cell-no-such7") &&
		   strstr(err->msg, "No such file"),
	   "the error names the library, the package and dlerror()'s reason: %s", err ? err->msg : "(none)");
	OK(h == NULL && sym_my_cos == NULL, "nothing kept");
	cell_error_free(&err);

	const struct cell_dl_sym bad_sym[] = { { (void **)&sym_my_cos, "cos" },
					       { (void **)&sym_missing, "cell_no_such_function" } };
	IS_INT(cell_dlopen_many(&h, "libm.so.6", "libc6", bad_sym, 2, &err), -1, "a missing symbol fails");
	OK(err && strstr(err->msg, "`cell_no_such_function`") && strstr(err->msg, "libm.so.6"),
	   "the error names the symbol and the library: %s", err ? err->msg : "(none)");
	OK(h == NULL && sym_my_cos == NULL, "symbols resolved before the missing one are cleared again");
	cell_error_free(&err);

	IS_INT(cell_dlopen_many(&h, "libm.so.6", "libc6", bad_sym, 1, &err), 0, "a present library loads");
	OK(h != NULL && sym_my_cos != NULL && sym_my_cos(0.0) == 1.0, "and its function is called through the pointer");
	void *first = h;
	IS_INT(cell_dlopen_many(&h, "libm.so.6", "libc6", bad_sym, 2, &err), 0,
	       "a second call is a no-op (the handle is cached)");
	OK(h == first, "same handle");
}

static void test_libraries(void)
{
	cell_error *err = NULL;
	OK(cell_dl_archive(&err) == 0 && archive_read_new != NULL && archive_entry_new != NULL,
	   "libarchive loads and resolves (%s)", err ? err->msg : "ok");
	cell_error_free(&err);
	struct archive *a = archive_read_new();
	OK(a != NULL && archive_read_support_format_tar(a) == ARCHIVE_OK, "libarchive's functions work through dl-archive.h");
	archive_read_free(a);
	OK(cell_dl_curl(&err) == 0 && curl_easy_init != NULL, "libcurl loads and resolves (%s)", err ? err->msg : "ok");
	cell_error_free(&err);
	IS_STR(curl_easy_strerror(CURLE_OK), "No error", "curl_easy_strerror through dl-curl.h");
	OK(cell_dl_nft(&err) == 0 && nft_ctx_new != NULL, "libnftables loads and resolves (%s)", err ? err->msg : "ok");
	cell_error_free(&err);
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	OK(n != NULL, "nft_ctx_new through dl-nft.h");
	if (n)
		nft_ctx_free(n);
	OK(cell_dl_archive(&err) == 0 && cell_dl_curl(&err) == 0 && cell_dl_nft(&err) == 0, "loading again is fine");
}

int main(void)
{
	test_many();
	test_libraries();
	return TAP_DONE();
}
