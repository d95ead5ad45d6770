/* Command line parsing for smb2fs / mount.smb2fs.  Option names follow
 * mount.cifs(8) so an fstab line can move from cifs to fuse.smb2fs with few
 * changes.  Kept free of FUSE calls: the unit test compiles this file. */
#include "opts.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "smb2fs/wire.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "smb2fs: ");

	if (n < 0 || (size_t)n >= errlen)
		return OPTS_USAGE;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return OPTS_USAGE;
}

int opts_set_str(char **dst, const char *src, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, src, len);
	p[len] = '\0';
	free(*dst);
	*dst = p;
	return 0;
}

static void free_password(char **pw)
{
	if (!*pw)
		return;
	size_t n = strlen(*pw) + 1;
	explicit_bzero(*pw, n);
	munlock(*pw, n);
	free(*pw);
	*pw = NULL;
}

int opts_set_password(struct smb2fs_opts *o, const char *src, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, src, len);
	p[len] = '\0';
	/* Best effort: keep the secret out of swap; fails harmlessly when
	 * RLIMIT_MEMLOCK is tiny. */
	(void)mlock(p, len + 1);
	free_password(&o->password);
	o->password = p;
	return 0;
}

void opts_wipe_password(struct smb2fs_opts *o)
{
	free_password(&o->password);
}

int opts_set_user(struct smb2fs_opts *o, const char *val, size_t len)
{
	const char *pct = memchr(val, '%', len);
	size_t ulen = pct ? (size_t)(pct - val) : len;
	int r;

	if (pct) {
		r = opts_set_password(o, pct + 1, len - ulen - 1);
		if (r)
			return r;
	}
	for (size_t i = 0; i < ulen; i++) {
		if (val[i] == '\\' || val[i] == '/') {
			r = opts_set_str(&o->domain, val, i);
			if (r)
				return r;
			return opts_set_str(&o->user, val + i + 1, ulen - i - 1);
		}
	}
	return opts_set_str(&o->user, val, ulen);
}

void opts_free(struct smb2fs_opts *o)
{
	free_password(&o->password);
	free(o->server);
	free(o->share);
	free(o->prefix);
	free(o->mountpoint);
	free(o->user);
	free(o->domain);
	free(o->credentials);
	free(o->keytab);
	free(o->spn);
	memset(o, 0, sizeof(*o));
}

/* The directory inside the share, s[0..len) ("sub/dir", "\sub\dir\",
 * "sub//dir"): '/' and '\' both separate, empty parts are dropped, "." and
 * ".." refused (the mount would not show the directory named).  *out is
 * "sub/dir", or NULL for the share root.  what names s in the message. */
static int norm_prefix(const char *s, size_t len, const char *what, char **out, char *err,
		       size_t errlen)
{
	char *p = malloc(len + 1);
	size_t o = 0;

	*out = NULL;
	if (!p)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		while (i + n < len && s[i + n] != '/' && s[i + n] != '\\')
			n++;
		if ((n == 1 && s[i] == '.') || (n == 2 && s[i] == '.' && s[i + 1] == '.')) {
			free(p);
			return fail(err, errlen, "%s: '.' and '..' are not allowed in the path inside "
				    "the share", what);
		}
		if (n) {
			if (o)
				p[o++] = '/';
			memcpy(p + o, s + i, n);
			o += n;
		}
		i += n + 1;
	}
	p[o] = '\0';
	if (!o)
		free(p);
	else
		*out = p;
	return OPTS_OK;
}

/* "//server/share[/sub/dir]", "\\server\share[\sub\dir]" or
 * "smb://server/share[/sub/dir]": a path after the share is the directory
 * the mount shows (mount.cifs's prefix path), as prefixpath= is. */
static int parse_unc(const char *unc, struct smb2fs_opts *o, char *err, size_t errlen)
{
	const char *p = unc, *srv, *shr, *end;
	char *prefix;

	if (strncasecmp(p, "smb:", 4) == 0)
		p += 4;
	if (!((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\')))
		return fail(err, errlen, "'%s' is not a share; expected //server/share", unc);
	srv = p + 2;
	shr = srv + strcspn(srv, "/\\");
	if (shr == srv || !*shr)
		return fail(err, errlen, "'%s' is not a share; expected //server/share", unc);
	shr++;
	end = shr + strcspn(shr, "/\\");
	if (end == shr)
		return fail(err, errlen, "'%s' has no share name; expected //server/share", unc);
	if (norm_prefix(end, strlen(end), unc, &prefix, err, errlen))
		return OPTS_USAGE;
	/* prefixpath= (already parsed) may repeat the path, not contradict it */
	if (prefix && o->prefix && strcmp(prefix, o->prefix) != 0) {
		free(prefix);
		return fail(err, errlen, "'%s' and prefixpath=%s name different directories", unc,
			    o->prefix);
	}
	if (prefix && !o->prefix)
		o->prefix = prefix;
	else
		free(prefix);
	if (opts_set_str(&o->server, srv, (size_t)(shr - 1 - srv)) ||
	    opts_set_str(&o->share, shr, (size_t)(end - shr)))
		return fail(err, errlen, "out of memory");
	return OPTS_OK;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static const struct {
	const char *name;
	uint16_t min, max;
} vers_table[] = {
	{ "2.0", SMB2_DIALECT_202, SMB2_DIALECT_202 },
	{ "2.02", SMB2_DIALECT_202, SMB2_DIALECT_202 },
	{ "2.1", SMB2_DIALECT_210, SMB2_DIALECT_210 },
	{ "3", SMB2_DIALECT_300, SMB2_DIALECT_311 }, /* "3.0 or later" as mount.cifs */
	{ "3.0", SMB2_DIALECT_300, SMB2_DIALECT_300 },
	{ "3.02", SMB2_DIALECT_302, SMB2_DIALECT_302 },
	{ "3.0.2", SMB2_DIALECT_302, SMB2_DIALECT_302 },
	{ "3.1.1", SMB2_DIALECT_311, SMB2_DIALECT_311 },
	{ "3.11", SMB2_DIALECT_311, SMB2_DIALECT_311 },
	{ "default", SMB2_DIALECT_202, SMB2_DIALECT_311 },
};

/* Accepted with no effect: mount(8)/fstab options that mean nothing to a
 * FUSE file system, and mount.cifs options that ask for what smb2fs does
 * anyway or only tune cifs.ko internals (docs/options.md says which).
 * A trailing '=' marks one that takes a value (as --help shows it; the
 * name matched is the part before it). */
static const char *const ignored_opts[] = {
	"rw", "_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
	"defaults", "atime", "noatime", "relatime", "strictatime", "diratime", "nodiratime",
	/* mount.cifs */
	"intr", "nointr", "nosetuids", "noacl", "nomapchars",
	"handlecache", "nohandlecache", "nostrictsync", "forcemandatorylock",
	"noposix", "nounix", "nolinux", "noposixpaths", "noresilienthandles",
	"nopersistenthandles", "nodfs", "noautotune", "nosharesock", "noblocksend",
	"netbiosname=", "servern=", "upcall_target=", "sloppy",
};

/* mount.cifs options smb2fs does not have: refused (exit 2) with the
 * reason, never silently ignored ('=' as in ignored_opts). */
static const struct {
	const char *name;
	const char *why;
} refused_opts[] = {
	{ "idsfromsid", "owners come from Samba's S-1-22 Unix SIDs (cifsacl, the default)" },
	{ "ip=", "write the address in //server/share (spn= names the Kerberos service)" },
	{ "addr=", "write the address in //server/share (spn= names the Kerberos service)" },
	{ "domainauto", "give the domain with domain=" },
	{ "setuids", "new files are owned as the server decides (nosetuids)" },
	{ "dynperm", "modes kept only in memory are not implemented" },
	{ "handletimeout=", "durable handles are always asked for with a fixed 60 s "
			   "timeout (the server may grant less)" },
	{ "resilienthandles", "resilient handles are not implemented (durable handles, "
			      "always asked for on SMB 3.x, keep open files across a reconnect)" },
	{ "persistenthandles", "persistent handles are not implemented (durable handles, "
			       "always asked for on SMB 3.x, keep open files across a reconnect)" },
	{ "rwpidforward", "not implemented" },
	{ "mapchars", "the SFU character mapping is not implemented; mapposix (the "
		      "default) maps the same characters as macOS does" },
	{ "backupuid=", "backup intent is not implemented" },
	{ "backupgid=", "backup intent is not implemented" },
	{ "nocase", "case-insensitive lookups are not implemented (the server decides)" },
	{ "ignorecase", "case-insensitive lookups are not implemented (the server decides)" },
	{ "rdma", "SMB Direct is not implemented" },
	{ "snapshot=", "snapshots (previous versions) are not implemented" },
	{ "locallease", "not implemented" },
	{ "posix", "the SMB3 POSIX extensions are not implemented" },
	{ "unix", "the SMB3 POSIX extensions are not implemented" },
	{ "linux", "the SMB3 POSIX extensions are not implemented" },
	{ "posixpaths", "the SMB3 POSIX extensions are not implemented (see mapposix)" },
	{ "bsize=", "the block size is not configurable" },
	{ "max_credits=", "the credit limit is not configurable" },
	{ "fsc", "FS-Cache is not available to FUSE file systems" },
	{ "multiuser", "one session serves the whole mount; mount once per user" },
	{ "multichannel", "multichannel is not implemented" },
	{ "max_channels=", "multichannel is not implemented" },
	{ "compress", "compression is not implemented" },
};

static int parse_uid(const char *val, uid_t *out)
{
	unsigned long v;

	if (parse_ulong(val, UINT32_MAX - 1, &v)) {
		*out = (uid_t)v;
		return 0;
	}
	struct passwd *pw = getpwnam(val);
	if (!pw)
		return -1;
	*out = pw->pw_uid;
	return 0;
}

static int parse_gid(const char *val, gid_t *out)
{
	unsigned long v;

	if (parse_ulong(val, UINT32_MAX - 1, &v)) {
		*out = (gid_t)v;
		return 0;
	}
	struct group *gr = getgrnam(val);
	if (!gr)
		return -1;
	*out = gr->gr_gid;
	return 0;
}

/* Whether key is name (up to a trailing '=' that says it takes a value). */
static bool opt_is(const char *key, const char *name)
{
	size_t n = strcspn(name, "=");

	return strncmp(key, name, n) == 0 && key[n] == '\0';
}

/* Seconds for actimeo=, acregmax=, acdirmax=. */
static bool parse_seconds(const char *val, double *out)
{
	char *end;

	errno = 0;
	double d = strtod(val, &end);
	if (errno || *end || !*val || !isfinite(d) || d < 0 || d > 86400.0 * 365)
		return false;
	*out = d;
	return true;
}

/* One "key[=value]" token.  val is NUL-terminated (a private copy). */
static int apply_opt(struct smb2fs_opts *o, const char *key, const char *val,
		     char *err, size_t errlen)
{
	unsigned long v;

#define IS(name) (strcmp(key, name) == 0)
#define NEED_VAL                                                                     \
	do {                                                                         \
		if (!val || !*val)                                                   \
			return fail(err, errlen, "option '%s' needs a value", key);  \
	} while (0)
#define NO_VAL                                                                       \
	do {                                                                         \
		if (val)                                                             \
			return fail(err, errlen, "option '%s' takes no value", key); \
	} while (0)

	if (IS("username") || (IS("user") && val)) { /* bare "user" is fstab noise */
		if (!val)
			val = "";
		if (opts_set_user(o, val, strlen(val)))
			return fail(err, errlen, "out of memory");
	} else if (IS("password") || IS("pass")) {
		if (!val)
			val = "";
		if (opts_set_password(o, val, strlen(val)))
			return fail(err, errlen, "out of memory");
	} else if (IS("domain") || IS("dom") || IS("workgroup")) {
		if (!val)
			val = "";
		if (opts_set_str(&o->domain, val, strlen(val)))
			return fail(err, errlen, "out of memory");
	} else if (IS("credentials") || IS("cred")) {
		NEED_VAL;
		if (opts_set_str(&o->credentials, val, strlen(val)))
			return fail(err, errlen, "out of memory");
	} else if (IS("guest")) {
		NO_VAL;
		o->guest = true;
	} else if (IS("sec")) {
		NEED_VAL;
		/* mount.cifs names; the "i" forms ask for signing, which an
		 * authenticated session does by default anyway. */
		if (!strcmp(val, "krb5") || !strcmp(val, "krb5i")) {
			o->sec = OPTS_SEC_KRB5;
		} else if (!strcmp(val, "ntlmssp") || !strcmp(val, "ntlmsspi") ||
			   !strcmp(val, "ntlmv2") || !strcmp(val, "ntlmv2i")) {
			o->sec = OPTS_SEC_NTLMSSP;
		} else if (!strcmp(val, "none")) {
			o->sec = OPTS_SEC_NONE;
			o->guest = true;
		} else if (!strcmp(val, "ntlm") || !strcmp(val, "ntlmi")) {
			return fail(err, errlen, "sec=%s (NTLMv1) is not supported: it is broken; "
				    "use sec=ntlmssp", val);
		} else {
			return fail(err, errlen, "bad sec '%s' (expected krb5, krb5i, ntlmssp, ntlmsspi, "
				    "ntlmv2, ntlmv2i or none)", val);
		}
		if (val[strlen(val) - 1] == 'i') {
			o->sign = true;
			o->nosign = false;
		}
		o->sec_given = true;
	} else if (IS("keytab")) {
		NEED_VAL;
		if (opts_set_str(&o->keytab, val, strlen(val)))
			return fail(err, errlen, "out of memory");
	} else if (IS("spn")) {
		NEED_VAL;
		if (opts_set_str(&o->spn, val, strlen(val)))
			return fail(err, errlen, "out of memory");
	} else if (IS("cruid")) {
		NEED_VAL;
		if (parse_uid(val, &o->cruid))
			return fail(err, errlen, "bad cruid '%s' (no such user)", val);
		o->have_cruid = true;
	} else if (IS("prefixpath")) { /* as a path after //server/share */
		char *pp;
		if (norm_prefix(val ? val : "", val ? strlen(val) : 0, "prefixpath=", &pp, err, errlen))
			return OPTS_USAGE;
		free(o->prefix);
		o->prefix = pp;
	} else if (IS("port")) {
		NEED_VAL;
		if (!parse_ulong(val, 65535, &v) || v == 0)
			return fail(err, errlen, "bad port '%s' (expected 1-65535)", val);
		o->port = (uint16_t)v;
	} else if (IS("vers")) {
		NEED_VAL;
		size_t i;
		for (i = 0; i < sizeof(vers_table) / sizeof(vers_table[0]); i++)
			if (strcmp(val, vers_table[i].name) == 0)
				break;
		if (i == sizeof(vers_table) / sizeof(vers_table[0]))
			return fail(err, errlen,
				    "bad vers '%s' (expected 2.0, 2.1, 3, 3.0, 3.02, 3.1.1 or default)",
				    val);
		o->min_dialect = vers_table[i].min;
		o->max_dialect = vers_table[i].max;
	} else if (IS("sign")) {
		NO_VAL;
		o->sign = true;
		o->nosign = false;
	} else if (IS("nosign")) {
		NO_VAL;
		o->nosign = true;
		o->sign = false;
	} else if (IS("seal")) {
		NO_VAL;
		o->seal = true;
	} else if (IS("cache")) {
		NEED_VAL;
		o->cache_none = strcmp(val, "none") == 0;
		o->cache_loose = strcmp(val, "loose") == 0;
		if (!o->cache_none && !o->cache_loose && strcmp(val, "strict") != 0)
			return fail(err, errlen, "bad cache '%s' (expected strict, loose or none)", val);
	} else if (IS("mapposix")) {
		NO_VAL;
		o->nomapposix = false;
	} else if (IS("nomapposix")) {
		NO_VAL;
		o->nomapposix = true;
	} else if (IS("timeout")) {
		NEED_VAL;
		if (!parse_ulong(val, 3600, &v) || v < 1)
			return fail(err, errlen, "bad timeout '%s' (expected seconds, 1 to 3600)", val);
		o->timeout = (unsigned)v;
	} else if (IS("echo_interval")) {
		NEED_VAL;
		if (!parse_ulong(val, 600, &v) || v < 1)
			return fail(err, errlen, "bad echo_interval '%s' (expected seconds, 1 to 600)", val);
		o->echo_interval = (unsigned)v;
	} else if (IS("hard")) {
		NO_VAL;
		o->soft = false;
	} else if (IS("soft")) {
		NO_VAL;
		o->soft = true;
	} else if (IS("closetimeo")) {
		NEED_VAL;
		if (!parse_ulong(val, 3600, &v))
			return fail(err, errlen, "bad closetimeo '%s' (expected seconds, 0 to 3600)", val);
		o->closetimeo = (unsigned)v;
	} else if (IS("uid")) {
		NEED_VAL;
		if (parse_uid(val, &o->uid))
			return fail(err, errlen, "bad uid '%s' (no such user)", val);
	} else if (IS("gid")) {
		NEED_VAL;
		if (parse_gid(val, &o->gid))
			return fail(err, errlen, "bad gid '%s' (no such group)", val);
	} else if (IS("actimeo") || IS("acregmax") || IS("acdirmax")) {
		double *dst = IS("actimeo") ? &o->actimeo : IS("acregmax") ? &o->acregmax : &o->acdirmax;
		NEED_VAL;
		if (!parse_seconds(val, dst))
			return fail(err, errlen, "bad %s '%s' (expected seconds >= 0)", key, val);
	} else if (IS("rsize") || IS("wsize")) {
		uint32_t *dst = IS("rsize") ? &o->rsize : &o->wsize;
		NEED_VAL;
		if (!parse_ulong(val, UINT32_MAX, &v) || v < 4096)
			return fail(err, errlen, "bad %s '%s' (expected bytes, at least 4096)", key, val);
		*dst = (uint32_t)v;
	} else if (IS("nolease")) {
		NO_VAL;
		o->nolease = true;
	} else if (IS("iocharset")) {
		/* names are UTF-8 on this side and UTF-16 on the wire, always */
		if (val && strcasecmp(val, "utf8") != 0 && strcasecmp(val, "utf-8") != 0)
			return fail(err, errlen, "option 'iocharset=%s' is not supported: names are "
				    "always UTF-8 (iocharset=utf8 is accepted)", val);
	} else if (IS("debug")) {
		NO_VAL;
		o->debug = true;
	} else if (IS("ro")) {
		NO_VAL;
		o->ro = true;
	} else if (IS("suid") || IS("nosuid")) {
		NO_VAL;
		o->nosuid = IS("nosuid");
	} else if (IS("dev") || IS("nodev")) {
		NO_VAL;
		o->nodev = IS("nodev");
	} else if (IS("allow_other")) {
		NO_VAL;
		o->allow_other = true;
	} else if (IS("file_mode") || IS("dir_mode")) {
		NEED_VAL;
		char *end;
		errno = 0;
		unsigned long m = strtoul(val, &end, 8);
		if (errno || *end || m > 07777)
			return fail(err, errlen, "bad %s '%s' (expected an octal mode, e.g. 0644)", key, val);
		if (IS("file_mode"))
			o->file_mode = (mode_t)m;
		else
			o->dir_mode = (mode_t)m;
	} else if (IS("forceuid") || IS("noforceuid")) {
		NO_VAL;
		o->forceuid = IS("forceuid");
	} else if (IS("forcegid") || IS("noforcegid")) {
		NO_VAL;
		o->forcegid = IS("forcegid");
	} else if (IS("brl") || IS("nobrl")) {
		NO_VAL;
		o->nobrl = IS("nobrl");
	} else if (IS("notify") || IS("nonotify")) {
		NO_VAL;
		o->notify = IS("notify");
	} else if (IS("serverino") || IS("noserverino")) {
		NO_VAL;
		o->noserverino = IS("noserverino");
	} else if (IS("cifsacl") || IS("nocifsacl")) {
		NO_VAL;
		o->nocifsacl = IS("nocifsacl");
	} else if (IS("mfsymlinks") || IS("nomfsymlinks")) {
		NO_VAL;
		o->nomfsymlinks = IS("nomfsymlinks");
	} else if (IS("sfu") || IS("nosfu")) {
		NO_VAL;
		o->sfu = IS("sfu");
	} else if (IS("user_xattr") || IS("nouser_xattr")) {
		NO_VAL;
		o->nouser_xattr = IS("nouser_xattr");
	} else if (IS("noperm") || IS("perm")) {
		NO_VAL;
		o->noperm = IS("noperm");
	} else if (IS("exec") || IS("noexec")) {
		/* mount(8) passes noexec for fstab `user`/`users` lines (unless
		 * `exec` follows): honour it, as the kernel's cifs does. */
		NO_VAL;
		o->noexec = IS("noexec");
	} else if (strncmp(key, "x-", 2) == 0 || IS("comment")) {
		/* userspace-only fstab annotations (x-systemd.*, x-gvfs-*, ...) */
	} else {
		for (size_t i = 0; i < sizeof(ignored_opts) / sizeof(ignored_opts[0]); i++)
			if (opt_is(key, ignored_opts[i]))
				return OPTS_OK;
		for (size_t i = 0; i < sizeof(refused_opts) / sizeof(refused_opts[0]); i++)
			if (opt_is(key, refused_opts[i].name))
				return fail(err, errlen, "option '%s' is not supported: %s", key,
					    refused_opts[i].why);
		if (val)
			return fail(err, errlen, "unknown option '%s=%s'", key, val);
		return fail(err, errlen, "unknown option '%s'", key);
	}
	return OPTS_OK;
#undef IS
#undef NEED_VAL
#undef NO_VAL
}

static bool is_password_key(const char *tok, size_t keylen)
{
	return (keylen == 8 && memcmp(tok, "password", 8) == 0) ||
	       (keylen == 4 && memcmp(tok, "pass", 4) == 0);
}

static bool is_user_key(const char *tok, size_t keylen)
{
	return (keylen == 8 && memcmp(tok, "username", 8) == 0) ||
	       (keylen == 4 && memcmp(tok, "user", 4) == 0);
}

/* Parses one -o argument in place.  Secrets are copied out and then
 * overwritten with 'x' in s (which is argv memory). */
static int parse_optstring(struct smb2fs_opts *o, char *s, char *err, size_t errlen)
{
	char *p = s;
	int r = OPTS_OK;

	while (*p && r == OPTS_OK) {
		char *tok = p, *eq = NULL, *end;
		size_t keylen;

		if (*p == ',') {
			p++;
			continue;
		}
		while (*p && *p != ',' && *p != '=')
			p++;
		keylen = (size_t)(p - tok);
		if (*p == '=')
			eq = p++;
		if (eq && is_password_key(tok, keylen)) {
			/* mount.cifs: a comma inside a password is written ",," */
			while (*p && !(*p == ',' && p[1] != ','))
				p += (*p == ',') ? 2 : 1;
		} else {
			while (*p && *p != ',')
				p++;
		}
		end = p;

		char *key = strndup(tok, keylen);
		char *val = NULL;
		size_t vlen = 0;
		if (!key)
			return fail(err, errlen, "out of memory");
		if (eq) {
			val = malloc((size_t)(end - eq));
			if (!val) {
				free(key);
				return fail(err, errlen, "out of memory");
			}
			for (char *q = eq + 1; q < end; q++) {
				val[vlen++] = *q;
				if (*q == ',' && is_password_key(tok, keylen))
					q++; /* skip the second comma of ",," */
			}
			val[vlen] = '\0';
		}
		r = apply_opt(o, key, val, err, errlen);
		if (eq && is_password_key(tok, keylen)) {
			memset(eq + 1, 'x', (size_t)(end - eq - 1));
		} else if (eq && is_user_key(tok, keylen)) {
			char *pct = memchr(eq + 1, '%', (size_t)(end - eq - 1));
			if (pct)
				memset(pct + 1, 'x', (size_t)(end - pct - 1));
		}
		if (val) {
			explicit_bzero(val, vlen);
			free(val);
		}
		free(key);
	}
	return r;
}

/* --help's lists: word then tail, wrapped to 78 columns, indented 2. */
static void help_word(FILE *out, int *col, const char *word, const char *tail)
{
	int n = (int)(strlen(word) + strlen(tail));

	if (*col > 2 && *col + 1 + n > 78) {
		fputc('\n', out);
		*col = 0;
	}
	*col += fprintf(out, "%s%s%s", *col ? " " : "  ", word, tail);
}

/* help_word for each space-separated word of text. */
static void help_words(FILE *out, int *col, const char *text)
{
	char word[64];

	while (*text) {
		size_t n = strcspn(text, " ");

		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, text, n);
		word[n] = '\0';
		help_word(out, col, word, "");
		text += n;
		text += strspn(text, " ");
	}
}

void opts_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s //server/share MOUNTPOINT [-o option[,option...]] [-f] [-d]\n"
		"       %s -h | --help | -V | --version\n"
		"\n"
		"Mounts an SMB2/SMB3 share with FUSE.\n"
		"\n"
		"  -f                    stay in the foreground\n"
		"  -d                    FUSE debug output (implies -f)\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version\n"
		"\n"
		"Options (-o, names as in mount.cifs):\n"
		"  username=NAME         user name (user=); DOMAIN\\NAME, DOMAIN/NAME and\n"
		"                        NAME%%PASSWORD are accepted\n"
		"  password=SECRET       password (pass=); write a comma as ,,\n"
		"  domain=NAME           domain or workgroup (dom=, workgroup=)\n"
		"  credentials=FILE      file with username=, password=, domain= lines (cred=)\n"
		"  guest                 log in as guest, no password (sec=none)\n"
		"  sec=MODE              ntlmssp (default; also ntlmv2), krb5 (Kerberos),\n"
		"                        none (= guest); krb5i, ntlmsspi: the same, signed\n"
		"                        (authenticated sessions sign by default anyway)\n"
		"  cruid=USER            sec=krb5: use USER's default credential cache\n"
		"                        (default: KRB5CCNAME, or the caller's)\n"
		"  keytab=FILE           sec=krb5: get tickets for username=PRINCIPAL from\n"
		"                        this keytab (no ccache needed, e.g. at boot)\n"
		"  spn=NAME              the server's service principal, cifs/host[@REALM]\n"
		"                        or cifs@host (default: cifs/<server>)\n"
		"  port=N                TCP port (default 445)\n"
		"  prefixpath=DIR        show DIR inside the share (as //server/share/DIR)\n"
		"  vers=V                dialect: 2.0, 2.1, 3 (3.0 or later), 3.0, 3.02,\n"
		"                        3.1.1, default (2.0.2 to 3.1.1)\n"
		"  sign                  require message signing, also for guest (which fails)\n"
		"  nosign                sign only if the server requires it; UNSAFE on\n"
		"                        untrusted networks (default: every authenticated\n"
		"                        session signs every message)\n"
		"  seal                  encrypt every message (SMB 3.0 or later), or fail\n"
		"  cache=strict|loose|none  none: every write waits for the server (no\n"
		"                        write-behind); strict and loose queue writes;\n"
		"                        loose also lets the kernel cache writes in its\n"
		"                        page cache (faster small writes, less coherent)\n"
		"  mapposix              store names with \\ : * ? \" < > |, controls, a\n"
		"                        trailing space or dot as macOS and cifs do, in\n"
		"                        Unicode private use (default); nomapposix: refuse\n"
		"  timeout=SECONDS       wait for a reply (default 30); interim replies extend\n"
		"                        it, up to 10 x SECONDS in all\n"
		"  uid=USER  gid=GROUP   owner of files whose owner the server does not\n"
		"                        give as a Unix id (default: mounting user)\n"
		"  forceuid  forcegid    show uid=/gid= for every file (noforceuid,\n"
		"                        noforcegid: not)\n"
		"  cifsacl               modes and owners from the files' security\n"
		"                        descriptors; chmod/chown write them (default)\n"
		"  nocifsacl             never: file_mode=, dir_mode=, uid=, gid= for all\n"
		"  file_mode=MODE  dir_mode=MODE  modes when the server gives none\n"
		"                        (default 0755)\n"
		"  perm, noperm          local permission checks (default), or none (the\n"
		"                        server still checks)\n"
		"  brl, nobrl            fcntl and flock locks as SMB2 byte-range locks every\n"
		"                        client of the share sees (default), or kept local\n"
		"  notify, nonotify      watch the directories the caches hold (change\n"
		"                        notify, with actimeo of 2 s or more): other\n"
		"                        clients' changes show at once; or not (default)\n"
		"  serverino             inode numbers are the server's file ids: stable\n"
		"                        across mounts, shared by hard links (default)\n"
		"  noserverino           inode numbers made up locally (by libfuse)\n"
		"  mfsymlinks            symlinks as Minshall+French link files (default);\n"
		"                        nomfsymlinks: symlink() fails with EPERM\n"
		"  sfu, nosfu            mkfifo/mknod as Services for Unix files (default off)\n"
		"  user_xattr            user.* xattrs as SMB extended attributes (default);\n"
		"                        nouser_xattr: EOPNOTSUPP\n"
		"  actimeo=SECONDS       attribute cache time (default 1)\n"
		"  acregmax=SECONDS  acdirmax=SECONDS  cache times of files and of\n"
		"                        directories; one time serves both: the shorter\n"
		"  closetimeo=SECONDS    keep a closed read-only file open under a lease\n"
		"                        for reuse (default 5; 0: close at once)\n"
		"  nolease               ask for no leases (every open reads again)\n"
		"  rsize=BYTES  wsize=BYTES  largest READ/WRITE (caps what the server offers)\n"
		"  echo_interval=SECONDS an SMB echo to a quiet server every SECONDS (default\n"
		"                        10, 1 to 600); one silent for twice that is dead\n"
		"  hard                  operations wait for a dead server to come back\n"
		"                        (default); a signal (Ctrl-C) ends the wait: EINTR\n"
		"  soft                  operations fail with EIO once the server has been\n"
		"                        silent for 2 x echo_interval\n"
		"  ro                    mount read-only (rw: the default)\n"
		"  noexec, nosuid, nodev (exec, suid, dev)  mount flags of the FUSE mount\n"
		"  allow_other           let other users access the mount\n"
		"  debug                 log every SMB request and reply to stderr\n"
		"\n",
		prog, prog);

	int col = 0;
	fputs("Accepted, no effect (smb2fs does this anyway, or cifs.ko tuning):\n", out);
	for (size_t i = 0; i < sizeof(ignored_opts) / sizeof(ignored_opts[0]); i++)
		help_word(out, &col, ignored_opts[i], ",");
	help_words(out, &col, "iocharset=utf8 (others refused), comment=, x-*; flags -n -s -v "
			      "--verbose (unknown options are still refused; nostrictsync: "
			      "fsync still flushes).");
	fputs("\n\nRefused with exit status 2 (mount.cifs options smb2fs does not have):\n", out);
	col = 0;
	for (size_t i = 0; i < sizeof(refused_opts) / sizeof(refused_opts[0]); i++)
		help_word(out, &col, refused_opts[i].name,
			  i + 1 < sizeof(refused_opts) / sizeof(refused_opts[0]) ? "," : ".");
	fputs("\nSee smb2fs(8) and docs/options.md for each.\n"
	      "The PASSWD environment variable supplies a password when none is given.\n",
	      out);
}

int opts_parse(int argc, char **argv, struct smb2fs_opts *o, char *err, size_t errlen)
{
	const char *unc = NULL, *mnt = NULL;
	bool dashdash = false;
	int r;

	memset(o, 0, sizeof(*o));
	o->uid = getuid();
	o->gid = getgid();
	o->file_mode = 0755; /* mount.cifs defaults: built programs run */
	o->dir_mode = 0755;
	o->actimeo = 1.0; /* cifs default */
	o->closetimeo = 5; /* cifs default */
	o->acregmax = o->acdirmax = -1;
	if (errlen)
		err[0] = '\0';

	/* help/version win over everything else, wherever they appear */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			o->help = true;
			return OPTS_EXIT;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			o->version = true;
			return OPTS_EXIT;
		}
	}

	for (int i = 1; i < argc; i++) {
		char *a = argv[i];

		if (!dashdash && a[0] == '-' && a[1]) {
			if (strcmp(a, "--") == 0) {
				dashdash = true;
			} else if (strcmp(a, "-o") == 0) {
				if (i + 1 >= argc)
					return fail(err, errlen, "option '-o' needs an argument");
				r = parse_optstring(o, argv[++i], err, errlen);
				if (r)
					return r;
			} else if (strncmp(a, "-o", 2) == 0) {
				r = parse_optstring(o, a + 2, err, errlen);
				if (r)
					return r;
			} else if (strcmp(a, "-f") == 0) {
				o->foreground = true;
			} else if (strcmp(a, "-d") == 0) {
				o->fuse_debug = true;
				o->foreground = true;
			} else if (strcmp(a, "-n") == 0 || strcmp(a, "-s") == 0 ||
				   strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
				/* passed by mount(8) to helpers: no mtab, sloppy, verbose */
			} else {
				return fail(err, errlen, "unknown option '%s' (try --help)", a);
			}
		} else if (!unc) {
			unc = a;
		} else if (!mnt) {
			mnt = a;
		} else {
			return fail(err, errlen, "unexpected argument '%s' (try --help)", a);
		}
	}
	if (!unc || !mnt)
		return fail(err, errlen, "missing %s (usage: smb2fs //server/share MOUNTPOINT [-o options])",
			    unc ? "mount point" : "share and mount point");
	r = parse_unc(unc, o, err, errlen);
	if (r)
		return r;
	if (opts_set_str(&o->mountpoint, mnt, strlen(mnt)))
		return fail(err, errlen, "out of memory");
	/* One cache time serves files and directories: acregmax= and acdirmax=
	 * (each actimeo= when not given, as in cifs) fold into the shorter, so
	 * nothing is cached longer than asked. */
	if (o->acregmax >= 0 || o->acdirmax >= 0) {
		double reg = o->acregmax >= 0 ? o->acregmax : o->actimeo;
		double dir = o->acdirmax >= 0 ? o->acdirmax : o->actimeo;
		o->actimeo = reg < dir ? reg : dir;
	}

	if (o->credentials) {
		r = creds_read_file(o->credentials, o, err, errlen);
		if (r)
			return r;
	}
	/* keytab= and cruid= are Kerberos options: they imply sec=krb5. */
	if ((o->keytab || o->have_cruid) && !o->sec_given)
		o->sec = OPTS_SEC_KRB5;
	if (o->guest)
		o->sec = OPTS_SEC_NONE;
	if (o->sec != OPTS_SEC_KRB5 && (o->keytab || o->have_cruid || o->spn))
		return fail(err, errlen, "%s needs sec=krb5",
			    o->keytab ? "keytab=" : o->have_cruid ? "cruid=" : "spn=");
	if (o->keytab && o->have_cruid)
		return fail(err, errlen, "keytab= and cruid= exclude each other (one source of tickets)");
	if (o->keytab && (!o->user || !*o->user))
		return fail(err, errlen, "keytab= needs username= (the principal whose key it holds)");
	if (!o->password && o->sec == OPTS_SEC_NTLMSSP) {
		const char *env = getenv("PASSWD");
		if (env && opts_set_password(o, env, strlen(env)))
			return fail(err, errlen, "out of memory");
	}
	/* Whether used or not, PASSWD is a secret sitting in our environment,
	 * which /proc/PID/environ shows: overwrite it in place, then drop it. */
	char *envpw = getenv("PASSWD");
	if (envpw) {
		explicit_bzero(envpw, strlen(envpw));
		unsetenv("PASSWD");
	}
	/* mount.cifs: without username= the name of the calling user is used */
	if (!o->user && o->sec == OPTS_SEC_NTLMSSP) { /* Kerberos: the ticket's principal */
		struct passwd *pw = getpwuid(getuid());
		const char *name = pw ? pw->pw_name : getenv("USER");
		if (name && opts_set_str(&o->user, name, strlen(name)))
			return fail(err, errlen, "out of memory");
	}
	return OPTS_OK;
}
