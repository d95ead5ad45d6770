/* Command line and -o option parsing (mount.cifs option names).  No FUSE
 * calls here so tests/unit/test_opts.c can compile opts.c + creds.c alone. */
#ifndef SMB2FS_MOUNT_OPTS_H
#define SMB2FS_MOUNT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct smb2fs_opts {
	char *server;         /* malloc'd */
	char *share;          /* malloc'd: the share name alone */
	char *prefix;         /* malloc'd or NULL: the directory inside the share the
			       * mount shows (//server/share/sub/dir or prefixpath=),
			       * "sub/dir": '/'-separated, no empty, "." or ".." part */
	char *mountpoint;     /* malloc'd, as given */
	char *user;           /* malloc'd or NULL */
	char *domain;         /* malloc'd or NULL */
	char *password;       /* malloc'd (mlocked best effort) or NULL */
	char *credentials;    /* credentials file path or NULL */
	bool guest;           /* also sec=none */
	int sec;              /* OPTS_SEC_*: how to log in */
	bool sec_given;       /* sec= was on the command line */
	char *keytab;         /* keytab=: client keytab for sec=krb5, or NULL */
	char *spn;            /* spn=: the server's service principal, or NULL */
	bool have_cruid;      /* cruid=: take tickets from this user's ccache */
	uid_t cruid;
	uint16_t port;        /* 0 = default 445 */
	uint16_t min_dialect; /* 0 = client default */
	uint16_t max_dialect;
	bool sign;            /* sign every message, or fail */
	bool nosign;          /* sign only when the server requires it */
	bool seal;            /* encrypt every message, or fail */
	unsigned timeout;     /* request timeout, seconds; 0 = client default */
	unsigned echo_interval; /* echo_interval=, seconds (1..600); 0 = client default (10) */
	bool soft;            /* soft: fail with EIO when the server is dead; hard (default): wait */
	bool cache_none;      /* cache=none: no write-behind */
	bool cache_loose;     /* cache=loose: the kernel's writeback cache */
	bool nomapposix;      /* names SMB cannot store are refused, not mapped */
	uid_t uid;
	gid_t gid;
	bool forceuid, forcegid; /* uid=/gid= for every file, whatever the server says */
	mode_t file_mode, dir_mode; /* modes when the server gives none (0755) */
	bool nocifsacl;       /* never read or write security descriptors */
	bool nobrl;           /* fcntl/flock locks stay local (no SMB2 LOCK) */
	bool noserverino;     /* inode numbers from libfuse, not the server's file ids */
	bool notify;          /* change notify watches (fs.c); off by default */
	bool nomfsymlinks;    /* symlink() refused, 1067-byte link files shown as files */
	bool sfu;             /* mknod/mkfifo as SFU files (off by default) */
	bool nouser_xattr;    /* no user.* xattrs (EOPNOTSUPP) */
	bool noperm;          /* no local permission checks (no default_permissions) */
	double actimeo;       /* seconds; acregmax=/acdirmax= fold into it */
	double acregmax, acdirmax; /* < 0: not given (then actimeo) */
	bool nolease;         /* nolease: ask for no leases (cache=none without
			       * its write-through) */
	uint32_t rsize, wsize; /* caps on the negotiated READ/WRITE sizes; 0: none */
	unsigned closetimeo;  /* deferred close, seconds; 0 = none */
	bool debug;           /* SMB request log */
	bool ro;
	bool nosuid, nodev;   /* mount flags, passed on to the FUSE mount */
	bool noexec;          /* noexec (fstab `user` implies it): no execve on the mount */
	bool allow_other;
	bool foreground;      /* -f */
	bool fuse_debug;      /* -d */
	bool help;            /* -h/--help: caller prints usage, exits 0 */
	bool version;         /* -V/--version */
};

/* sec= */
enum {
	OPTS_SEC_NTLMSSP = 0, /* default: NTLMv2 with the password */
	OPTS_SEC_KRB5,        /* Kerberos from a ccache or keytab= */
	OPTS_SEC_NONE,        /* = guest */
};

/* Result of opts_parse(). */
enum {
	OPTS_OK = 0,
	OPTS_EXIT = 1,  /* help or version requested */
	OPTS_USAGE = 2, /* error; message in err */
};

/* Parses argv into o (zeroed and given defaults first).  Password values
 * given on the command line are overwritten in argv, so /proc/PID/cmdline no
 * longer shows them.  Reads the credentials file and the PASSWD environment
 * variable.  On error returns OPTS_USAGE with one line (no trailing newline)
 * in err, e.g. "smb2fs: unknown option 'foo'". */
int opts_parse(int argc, char **argv, struct smb2fs_opts *o, char *err, size_t errlen);

/* Frees every string in o, wiping the password first. */
void opts_free(struct smb2fs_opts *o);

/* Wipes and frees just the password (after the client copied it). */
void opts_wipe_password(struct smb2fs_opts *o);

/* Replaces *dst with a malloc'd copy of src (len bytes); for passwords the
 * old value is wiped.  Returns 0 or -ENOMEM. */
int opts_set_str(char **dst, const char *src, size_t len);
int opts_set_password(struct smb2fs_opts *o, const char *src, size_t len);

/* Splits "DOMAIN\user" or "DOMAIN/user" into domain and user, and
 * "user%password" into user and password (mount.cifs forms).  Returns 0 or
 * -ENOMEM.  The password part, if any, overrides an earlier one. */
int opts_set_user(struct smb2fs_opts *o, const char *val, size_t len);

/* Reads a mount.cifs credentials file (username=, password=, domain=;
 * blank and '#' lines ignored).  Values already set in o (from the command
 * line) win.  Warns on stderr when the
 * file is readable by others.  Returns OPTS_OK or OPTS_USAGE with err set. */
int creds_read_file(const char *path, struct smb2fs_opts *o, char *err, size_t errlen);

/* The usage text for --help (option list included). */
void opts_usage(FILE *out, const char *prog);

#endif
