/* libmicrohttpd, loaded with dlopen() by cell_dl_mhd() (see dl.h) for
 * `cell system service` only: it brings gnutls and a dozen libraries that
 * no other command should map. Include this instead of <microhttpd.h>. */
#ifndef CELL_DL_MHD_H
#define CELL_DL_MHD_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>

#include "dl.h"

#define CELL_DL_MHD_SYMS(X) \
	X(MHD_add_response_header) \
	X(MHD_create_response_for_upgrade) \
	X(MHD_create_response_from_buffer) \
	X(MHD_create_response_from_callback) \
	X(MHD_destroy_response) \
	X(MHD_get_connection_info) \
	X(MHD_get_connection_values) \
	X(MHD_lookup_connection_value) \
	X(MHD_queue_response) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon) \
	X(MHD_upgrade_action)

CELL_DL_MHD_SYMS(CELL_DLSYM_PROTOTYPE_X)

#define MHD_add_response_header sym_MHD_add_response_header
#define MHD_create_response_for_upgrade sym_MHD_create_response_for_upgrade
#define MHD_create_response_from_buffer sym_MHD_create_response_from_buffer
#define MHD_create_response_from_callback sym_MHD_create_response_from_callback
#define MHD_destroy_response sym_MHD_destroy_response
#define MHD_get_connection_info sym_MHD_get_connection_info
#define MHD_get_connection_values sym_MHD_get_connection_values
#define MHD_lookup_connection_value sym_MHD_lookup_connection_value
#define MHD_queue_response sym_MHD_queue_response
#define MHD_start_daemon sym_MHD_start_daemon
#define MHD_stop_daemon sym_MHD_stop_daemon
#define MHD_upgrade_action sym_MHD_upgrade_action

#endif
