/* Libraries loaded with dlopen() when a command needs them, systemd-style.
 *
 * `cell run`, `ps`, `exec` and the rest never touch libcurl (registry),
 * libarchive (tar layers) or libnftables (NAT rules), yet linking them made
 * every `cell` process map ~50 shared libraries (gnutls, krb5, ldap, xtables,
 * gmp ...) before main(): 10 ms of page faults and relocations per command.
 * They are compiled against (headers only) and opened at the entry points
 * that use them:
 *
 *     if (cell_dl_archive(err) < 0)
 *             return -1;
 *     struct archive *a = archive_read_new();
 *
 * dl-archive.h, dl-curl.h and dl-nft.h declare one function pointer per
 * symbol (`sym_archive_read_new`, typed from the library's own prototype
 * with typeof) and #define the library's names to them, so call sites read
 * as before. A missing library is an error naming it, the Debian package
 * that ships it, and dlerror()'s text. */
#ifndef CELL_DL_H
#define CELL_DL_H

#include <stddef.h>

#include "error.h"

struct cell_dl_sym {
	void **fn;		/* where the address goes */
	const char *name;	/* the symbol */
};

/* The per-library headers list their symbols once, as X(name) entries of an
 * X-macro; these are the X's. */
/* a table entry for `name`, resolved into sym_<name> (# and ## do not
 * expand `name`, so this works after the redirecting #defines) */
#define CELL_DLSYM(name) { (void **)&sym_##name, #name },
/* sym_<name>, typed from the library's own prototype: used before the
 * #defines, while `name` still means the library's function */
#define CELL_DLSYM_PROTOTYPE_X(name) extern typeof(name) *sym_##name;
#define CELL_DLSYM_DEFINE_X(name) typeof(sym_##name) sym_##name;

/* dlopen() soname once (*handle caches it) and resolve every symbol of
 * syms[0..n); on any failure nothing is kept and the error names the
 * library, the Debian package `package` and dlerror()'s reason. Safe to
 * call from several threads. */
int cell_dlopen_many(void **handle, const char *soname, const char *package,
		     const struct cell_dl_sym *syms, size_t n, cell_error **err);

/* The three libraries; each returns 0 once loaded, -1 with *err set. */
int cell_dl_curl(cell_error **err);
int cell_dl_archive(cell_error **err);
int cell_dl_nft(cell_error **err);
int cell_dl_mhd(cell_error **err);

#endif
