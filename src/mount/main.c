/* smb2fs / mount.smb2fs: parse options, daemonize, connect, mount, serve.
 *
 * We fork before connecting because the client starts a receiver thread at
 * connect time and threads do not survive fork().  The parent stays on the
 * user's terminal until the child reports "mounted" over a pipe, so every
 * error (bad password, unreachable server, bad mount point) is printed and
 * reflected in the exit status before `mount` returns. */
#include "../fs/fs.h"
#include "ccache.h"
#include "opts.h"
#include "smb2fs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SMB2FS_VERSION
#define SMB2FS_VERSION "unknown"
#endif

/* Copies src to p with a backslash before each comma and backslash;
 * returns the end. */
static char *append_escaped(char *p, const char *src)
{
	for (const char *q = src; *q; q++) {
		if (*q == ',' || *q == '\\')
			*p++ = '\\';
		*p++ = *q;
	}
	return p;
}

/* "fsname=//server/share,subtype=smb2fs,default_permissions[,ro][,noexec][,nosuid][,nodev]
 * [,allow_other]";
 * commas and backslashes in the name are escaped for libfuse's option
 * parser.  default_permissions makes the kernel enforce the modes and
 * owner we show (as cifs does without noperm); without it an allow_other
 * mount would let every local user write everything.  `noperm` leaves it
 * out: only the server checks. */
static char *fuse_mount_opts(const struct smb2fs_opts *o)
{
	size_t cap = 2 * (strlen(o->server) + strlen(o->share) +
			  (o->prefix ? strlen(o->prefix) + 1 : 0)) + 128;
	char *s = malloc(cap), *p;

	if (!s)
		return NULL;
	p = s + sprintf(s, "fsname=//");
	p = append_escaped(p, o->server);
	*p++ = '/';
	p = append_escaped(p, o->share);
	if (o->prefix) { /* //server/share/sub/dir, as mount.cifs shows a prefix path */
		*p++ = '/';
		p = append_escaped(p, o->prefix);
	}
	sprintf(p, ",subtype=smb2fs%s%s%s%s%s%s", o->noperm ? "" : ",default_permissions",
		o->ro ? ",ro" : "", o->noexec ? ",noexec" : "", o->nosuid ? ",nosuid" : "",
		o->nodev ? ",nodev" : "", o->allow_other ? ",allow_other" : "");
	return s;
}

static void report_ready(int *status_fd)
{
	if (*status_fd < 0)
		return;
	if (write(*status_fd, "R", 1) != 1) {
		/* parent gone; keep serving, the mount exists */
	}
	close(*status_fd);
	*status_fd = -1;
}

static void detach_stdio(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* Connects, mounts and runs the loop.  Returns the process exit status. */
static int serve(struct smb2fs_opts *o, const char *ccache, const char *prog, const char *mnt,
		 int *status_fd)
{
	struct smb2_config cfg = {
		.server = o->server,
		.share = o->share,
		.prefix = o->prefix,
		.port = o->port,
		.user = o->user,
		.domain = o->domain,
		.password = o->password,
		.guest = o->guest,
		.krb5 = o->sec == OPTS_SEC_KRB5,
		.krb5_ccache = ccache,
		.krb5_keytab = o->keytab,
		.spn = o->spn,
		.min_dialect = o->min_dialect,
		.max_dialect = o->max_dialect,
		.require_signing = o->sign,
		.no_signing = o->nosign,
		.seal = o->seal,
		.timeout_sec = o->timeout,
		.echo_interval = o->echo_interval,
		.soft = o->soft,
		.no_write_behind = o->cache_none,
		.no_leases = o->cache_none || o->nolease,
		.rsize = o->rsize,
		.wsize = o->wsize,
		.close_timeout_ms = o->closetimeo * 1000,
		.read_for_write = o->cache_loose,
		.no_cifsacl = o->nocifsacl,
		.no_mapposix = o->nomapposix,
		.debug = o->debug,
	};
	struct smb2fs_ctx ctx = { .uid = o->uid, .gid = o->gid, .actimeo = o->actimeo, .mountpoint = mnt,
				  .forceuid = o->forceuid, .forcegid = o->forcegid,
				  .file_mode = o->file_mode, .dir_mode = o->dir_mode,
				  .want_writeback_cache = o->cache_loose,
				  .nobrl = o->nobrl, .serverino = !o->noserverino,
				  .notify = o->notify,
				  .mfsymlinks = !o->nomfsymlinks, .sfu = o->sfu,
				  .user_xattr = !o->nouser_xattr };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *fuse = NULL;
	char errmsg[512] = "";
	char *mopts = NULL;
	int r, status = 1;

	r = smb2_client_connect(&cfg, &ctx.client, errmsg, sizeof(errmsg));
	opts_wipe_password(o); /* the client keeps its own copy */
	if (r < 0) {
		fprintf(stderr, "smb2fs: %s\n", errmsg[0] ? errmsg : strerror(-r));
		return 1;
	}

	mopts = fuse_mount_opts(o);
	if (!mopts || fuse_opt_add_arg(&args, prog) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, mopts) || (o->fuse_debug && fuse_opt_add_arg(&args, "-d"))) {
		fprintf(stderr, "smb2fs: out of memory\n");
		goto out;
	}
	fuse = fuse_new(&args, &smb2fs_ops, sizeof(smb2fs_ops), &ctx);
	if (!fuse) {
		fprintf(stderr, "smb2fs: cannot set up FUSE\n");
		goto out;
	}
	errno = 0;
	if (fuse_mount(fuse, mnt) != 0) {
		int e = errno;
		/* libfuse opens /dev/fuse itself and falls back to the set-uid
		 * fusermount3 only when mount(2) is refused, not when the
		 * device is (mode 0600 where no udev ran, e.g. in containers). */
		bool nodev = getuid() != 0 && access("/dev/fuse", R_OK | W_OK) != 0;
		/* libfuse has usually printed the reason already */
		fprintf(stderr, "smb2fs: cannot mount on %s%s%s\n", mnt, e ? ": " : "",
			e ? strerror(e) : "");
		if (nodev)
			fprintf(stderr, "smb2fs: /dev/fuse is not readable and writable by this user; "
				"mounting without root needs it mode 0666 (udev's default)\n");
		goto out_destroy;
	}

	/* Leave the terminal's session before the parent exits: the
	 * terminal's hangup would otherwise reach us (and stop the loop)
	 * whenever the parent wins the race. */
	if (!o->foreground)
		setsid();
	report_ready(status_fd);
	if (!o->foreground) {
		if (chdir("/") != 0) {
			/* not fatal: only keeps a directory busy */
		}
		detach_stdio(o->debug);
		if (!o->debug)
			smb2_log_use_syslog("smb2fs");
	}

	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0) {
		fprintf(stderr, "smb2fs: cannot install signal handlers\n");
		fuse_unmount(fuse);
		goto out_destroy;
	}
	struct fuse_loop_config lc = { .clone_fd = 0, .max_idle_threads = 10 };
	r = fuse_loop_mt(fuse, &lc);
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	fuse_unmount(fuse);
	/* < 0: loop error; >= 0: unmounted or stopped by a signal */
	status = r < 0 ? 1 : 0;

out_destroy:
	/* before the client: fuse_destroy may still unlink hidden files */
	fuse_destroy(fuse);
out:
	fuse_opt_free_args(&args);
	free(mopts);
	smb2_client_destroy(ctx.client);
	return status;
}

/* mount.cifs asks for the password when none was given and someone is at
 * the terminal; scripts and fstab (no terminal) keep the empty password.
 * Echo is off while typing.  Returns 0, or -1 when reading failed. */
static int prompt_password(struct smb2fs_opts *o)
{
	struct termios old, quiet;
	char buf[512];

	if (o->password || o->sec != OPTS_SEC_NTLMSSP || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0)
		return 0;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	/* Echo off (dropping what was typed ahead) before the prompt shows:
	 * the other way round, a password typed right after the prompt
	 * appeared could be flushed away. */
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fprintf(stderr, "Password for %s@//%s/%s: ", o->user ? o->user : "", o->server, o->share);
	fflush(stderr);
	char *line = fgets(buf, sizeof(buf), stdin);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	int r = -1;
	if (line) {
		buf[strcspn(buf, "\n")] = '\0';
		r = opts_set_password(o, buf, strlen(buf)) ? -1 : 0;
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

/* Waits for the child's "mounted" byte; mirrors its failure otherwise. */
static int parent_wait(pid_t child, int fd)
{
	char c;
	ssize_t n;
	int ws;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n == 1)
		return 0;
	while (waitpid(child, &ws, 0) < 0) {
		if (errno != EINTR)
			return 1;
	}
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws) ? WEXITSTATUS(ws) : 1;
	fprintf(stderr, "smb2fs: mount process died (signal %d)\n",
		WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	return 1;
}

int main(int argc, char **argv)
{
	struct smb2fs_opts o;
	char err[512];
	char *mnt;
	struct stat sb;
	int status_fd = -1, r;
	const char *prog = argc > 0 ? argv[0] : "smb2fs";

	/* sockets: a dead server must give EPIPE, not kill us */
	signal(SIGPIPE, SIG_IGN);
	/* Reply frames (up to 8 MiB) and write-behind chunks (1 MiB) are
	 * allocated and freed all the time: keep them on the heap, instead of
	 * a fresh mmap that the kernel must fault in and zero each time (6% of
	 * the CPU of a cold sequential read).  Bounded by the frame limit and
	 * the write-behind queues, within the RSS budget. */
	mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
	/* The password lives in this process for reconnects: no core dumps,
	 * and no ptrace by other processes of the same (non-root) user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* Never set-user-ID: a normal user mounts through the set-uid
	 * fusermount3, and mount(8) runs /sbin/mount.smb2fs as the calling
	 * user for fstab `user` lines.  With the bit, credentials= (and
	 * keytab=, cruid=) would read files with root's rights on behalf of
	 * any user. */
	if (getuid() != geteuid() || getgid() != getegid()) {
		fprintf(stderr, "smb2fs: refusing to run set-user-ID or set-group-ID "
			"(chmod u-s,g-s the binary; see docs/unprivileged.md)\n");
		return 1;
	}

	r = opts_parse(argc, argv, &o, err, sizeof(err));
	if (r == OPTS_EXIT) {
		if (o.help)
			opts_usage(stdout, "smb2fs");
		else
			printf("smb2fs %s\n", SMB2FS_VERSION);
		opts_free(&o);
		return 0;
	}
	if (r != OPTS_OK) {
		fprintf(stderr, "%s\n", err);
		opts_free(&o);
		return 2;
	}

	if (prompt_password(&o) != 0) {
		fprintf(stderr, "smb2fs: no password read\n");
		opts_free(&o);
		return 2;
	}

	/* cruid=: resolved now, while no thread runs (it forks). */
	char *ccache = NULL;
	if (o.have_cruid && ccache_for_uid(o.cruid, &ccache, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		opts_free(&o);
		return 1;
	}

	/* absolute path: the daemon chdirs to / */
	mnt = realpath(o.mountpoint, NULL);
	if (!mnt || stat(mnt, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "smb2fs: cannot mount on %s: %s\n", o.mountpoint,
			mnt ? strerror(ENOTDIR) : strerror(errno));
		free(mnt);
		free(ccache);
		opts_free(&o);
		return 1;
	}

	if (!o.foreground) {
		int p[2];
		pid_t pid;

		fflush(NULL);
		if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
			fprintf(stderr, "smb2fs: cannot start: %s\n", strerror(errno));
			free(mnt);
			free(ccache);
			opts_free(&o);
			return 1;
		}
		if (pid > 0) {
			close(p[1]);
			opts_free(&o); /* wipes the parent's copy of the password */
			free(mnt);
			free(ccache);
			return parent_wait(pid, p[0]);
		}
		close(p[0]);
		status_fd = p[1];
	}

	r = serve(&o, ccache, prog, mnt, &status_fd);
	free(mnt);
	free(ccache);
	opts_free(&o);
	if (status_fd >= 0)
		close(status_fd); /* failure: parent sees EOF and our status */
	return r;
}
