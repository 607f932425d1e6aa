/* What cell-monitor (src/monitor/) says to the `cell` steps it runs and to
 * attach clients. Plain C, no library: the monitor is a small static
 * executable and includes only this.
 *
 *   cell start ──fork, setsid, fork, exec──► cell-monitor --cell C --root R --id ID
 *        ▲                                        │ subreaper; attach.sock; ctr.log
 *        │ "0" | "<code> <message>"               │
 *        └──────────────── report fd ─────────────┤
 *                                                 ├─fork, exec──► cell --root R monitor-step launch ID
 *                                                 │   stdio = the container's pipes (or /dev/null with
 *                                                 │   a tty); fd 3 = channel: "pid N" (+ pty master)
 *                                                 │   or "err CODE MESSAGE"; then it exits and the
 *                                                 │   init is reparented to the monitor (subreaper)
 *                                                 │ pipes/pty → ctr.log (JSON lines) + attach clients
 *                                                 │ init exits (reaped here), output drained
 *                                                 ├─fork, exec──► cell ... monitor-step exited ID WSTATUS
 *                                                 │   record, OOM, runtime delete, network, --rm;
 *                                                 │   "stop CODE" | "restart CODE"
 *                                                 └ restart: backoff, then `launch ID CODE` again
 *
 * Attach (client ↔ monitor): SOCK_SEQPACKET on containers/<id>/attach.sock,
 * one message per packet, its first byte the type. */
#ifndef CELL_MONITOR_PROTO_H
#define CELL_MONITOR_PROTO_H

#define MONITOR_EXE "cell-monitor"
#define MONITOR_STEP_CMD "monitor-step"	/* hidden `cell` command that runs a step */
#define MONITOR_CHANNEL_FD 3			/* the step's end of the channel */
#define ATTACH_SOCK "attach.sock"
#define ATTACH_MSG_MAX 8192			/* payload bytes per message, at most */

enum attach_msg {
	/* client → monitor */
	ATTACH_STDIN = 'i',	/* bytes for the container's stdin (pipe or pty); none: its end (pipe) */
	ATTACH_RESIZE = 'w',	/* two uint16: rows, columns (TIOCSWINSZ on the pty) */
	ATTACH_SIGNAL = 'k',	/* int32: a signal for the init (--sig-proxy) */
	/* monitor → client */
	ATTACH_STDOUT = 'o',	/* the container's output (a tty's goes here) */
	ATTACH_STDERR = 'e',
	ATTACH_EXIT = 'x',	/* int32: exit status; the monitor closes the connection after it */
};

#endif
