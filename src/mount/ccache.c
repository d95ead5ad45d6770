/* cruid=UID (mount.cifs): the Kerberos credential cache that user's own
 * programs would use, i.e. krb5.conf's default_ccache_name (usually
 * FILE:/tmp/krb5cc_%{uid} or KEYRING:persistent:%{uid}) expanded for that
 * user.  libkrb5 expands %{uid} for the calling process only, so a child
 * takes on the uid, asks, and writes the name back; root can then read
 * the cache itself. */
#include "ccache.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <krb5.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(uid_t uid, int fd)
{
	struct passwd *pw = getpwuid(uid);
	krb5_context ctx;
	const char *name;

	/* KRB5CCNAME names the caller's cache, not the user's. */
	unsetenv("KRB5CCNAME");
	if (setgroups(0, NULL) != 0 && geteuid() == 0)
		_exit(3);
	if (pw && setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0)
		_exit(3);
	if (setresuid(uid, uid, uid) != 0)
		_exit(3);
	if (krb5_init_context(&ctx) != 0)
		_exit(4);
	name = krb5_cc_default_name(ctx);
	if (!name || write(fd, name, strlen(name)) != (ssize_t)strlen(name))
		_exit(5);
	krb5_free_context(ctx);
	_exit(0);
}

int ccache_for_uid(uid_t uid, char **out, char *err, size_t errlen)
{
	char buf[1024];
	size_t n = 0;
	int p[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		goto sys_fail;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		goto sys_fail;
	}
	if (pid == 0) {
		close(p[0]);
		child(uid, p[1]);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) == sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0) {
		snprintf(err, errlen, "smb2fs: cannot find the Kerberos credential cache of uid %lu "
			 "(cruid=): %s", (unsigned long)uid,
			 WIFEXITED(status) && WEXITSTATUS(status) == 3 ? "cannot switch to that user"
								     : "no default ccache name");
		return -ENOENT;
	}
	buf[n] = '\0';
	*out = strdup(buf);
	if (!*out) {
		snprintf(err, errlen, "smb2fs: out of memory");
		return -ENOMEM;
	}
	return 0;
sys_fail:
	snprintf(err, errlen, "smb2fs: cannot look up the credential cache of uid %lu: %s",
		 (unsigned long)uid, strerror(errno));
	return -errno;
}
