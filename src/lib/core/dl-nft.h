/* libnftables, loaded with dlopen() by cell_dl_nft() (see dl.h): include this
 * instead of <nftables/libnftables.h> and call cell_dl_nft() before
 * the first use. Add a symbol to both lists below when the code needs a new one. */
#ifndef CELL_DL_NFT_H
#define CELL_DL_NFT_H

#include <nftables/libnftables.h>

#include "dl.h"

#define CELL_DL_NFT_SYMS(X) \
	X(nft_ctx_buffer_error) \
	X(nft_ctx_buffer_output) \
	X(nft_ctx_free) \
	X(nft_ctx_get_error_buffer) \
	X(nft_ctx_get_output_buffer) \
	X(nft_ctx_new) \
	X(nft_ctx_output_set_flags) \
	X(nft_ctx_unbuffer_error) \
	X(nft_ctx_unbuffer_output) \
	X(nft_run_cmd_from_buffer)

CELL_DL_NFT_SYMS(CELL_DLSYM_PROTOTYPE_X)

#define nft_ctx_buffer_error sym_nft_ctx_buffer_error
#define nft_ctx_buffer_output sym_nft_ctx_buffer_output
#define nft_ctx_free sym_nft_ctx_free
#define nft_ctx_get_error_buffer sym_nft_ctx_get_error_buffer
#define nft_ctx_get_output_buffer sym_nft_ctx_get_output_buffer
#define nft_ctx_new sym_nft_ctx_new
#define nft_ctx_output_set_flags sym_nft_ctx_output_set_flags
#define nft_ctx_unbuffer_error sym_nft_ctx_unbuffer_error
#define nft_ctx_unbuffer_output sym_nft_ctx_unbuffer_output
#define nft_run_cmd_from_buffer sym_nft_run_cmd_from_buffer

#endif
