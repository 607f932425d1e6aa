/* dlopen() of the libraries only some commands need (see dl.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

#include "dl.h"
#include "dl-archive.h"
#include "dl-curl.h"
#include "dl-mhd.h"
#include "dl-nft.h"

static int dlopen_locked(void **handle, const char *soname, const char *package,
			 const struct cell_dl_sym *syms, size_t n, cell_error **err)
{
	if (*handle)
		return 0;
	/* RTLD_NOW: a symbol missing from an old library fails here, with its
	 * name, instead of as a crash in the middle of a pull */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h)
		return cell_error_set(err, "load `%s` (install Debian package %s): %s", soname, package,
				      dlerror());
	for (size_t i = 0; i < n; i++) {
		dlerror();
		void *f = dlsym(h, syms[i].name);
		if (!f) {
			const char *why = dlerror();
			cell_error_set(err, "load `%s`: symbol `%s` missing (package %s too old?): %s", soname,
				       syms[i].name, package, why ? why : "NULL address");
			dlclose(h);
			for (size_t j = 0; j < i; j++)
				*syms[j].fn = NULL;
			return -1;
		}
		*syms[i].fn = f;
	}
	__atomic_store_n(handle, h, __ATOMIC_RELEASE);
	return 0;
}

/* image imports unpack layers in worker threads, each of which may be the
 * first to need libarchive */
int cell_dlopen_many(void **handle, const char *soname, const char *package,
		     const struct cell_dl_sym *syms, size_t n, cell_error **err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	if (__atomic_load_n(handle, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&lock);
	int r = dlopen_locked(handle, soname, package, syms, n, err);
	pthread_mutex_unlock(&lock);
	return r;
}

#define LIBRARY(key, soname, package, SYMS)                                        \
	SYMS(CELL_DLSYM_DEFINE_X)                                                   \
	int cell_dl_##key(cell_error **err)                                         \
	{                                                                           \
		static void *handle;                                                \
		static const struct cell_dl_sym syms[] = { SYMS(CELL_DLSYM) };      \
		return cell_dlopen_many(&handle, soname, package, syms,             \
					sizeof(syms) / sizeof(syms[0]), err);       \
	}

LIBRARY(archive, "libarchive.so.13", "libarchive13", CELL_DL_ARCHIVE_SYMS)
LIBRARY(curl, "libcurl.so.4", "libcurl4", CELL_DL_CURL_SYMS)
LIBRARY(nft, "libnftables.so.1", "libnftables1", CELL_DL_NFT_SYMS)
LIBRARY(mhd, "libmicrohttpd.so.12", "libmicrohttpd12", CELL_DL_MHD_SYMS)
