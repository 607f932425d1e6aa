/* libcurl, loaded with dlopen() by cell_dl_curl() (see dl.h): include this
 * instead of <curl/curl.h> and call cell_dl_curl() before
 * the first use. Add a symbol to both lists below when the code needs a new one. */
#ifndef CELL_DL_CURL_H
#define CELL_DL_CURL_H

/* curl_easy_setopt() and curl_easy_getinfo() are variadic; curl's type-checking
 * macros of the same names would shadow the redirection below */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "dl.h"

#define CELL_DL_CURL_SYMS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_reset) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_url) \
	X(curl_url_cleanup) \
	X(curl_url_get) \
	X(curl_url_set)

CELL_DL_CURL_SYMS(CELL_DLSYM_PROTOTYPE_X)

#define curl_easy_cleanup sym_curl_easy_cleanup
#define curl_easy_escape sym_curl_easy_escape
#undef curl_easy_getinfo	/* curl.h's argument-count check */
#define curl_easy_getinfo sym_curl_easy_getinfo
#define curl_easy_init sym_curl_easy_init
#define curl_easy_perform sym_curl_easy_perform
#define curl_easy_reset sym_curl_easy_reset
#undef curl_easy_setopt
#define curl_easy_setopt sym_curl_easy_setopt
#define curl_easy_strerror sym_curl_easy_strerror
#define curl_free sym_curl_free
#define curl_global_init sym_curl_global_init
#define curl_slist_append sym_curl_slist_append
#define curl_slist_free_all sym_curl_slist_free_all
#define curl_url sym_curl_url
#define curl_url_cleanup sym_curl_url_cleanup
#define curl_url_get sym_curl_url_get
#define curl_url_set sym_curl_url_set

#endif
