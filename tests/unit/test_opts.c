/* Option parser tests: src/mount/opts.c + creds.c, no FUSE, no network. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "../../src/mount/opts.h"
#include "smb2fs/wire.h"

#define MAXARGS 16

static char *argv_copy[MAXARGS];

static void parse_free_args(void)
{
	for (int i = 0; i < MAXARGS; i++) {
		free(argv_copy[i]);
		argv_copy[i] = NULL;
	}
}

/* Parses a NULL-terminated list of args (copied, since the parser writes
 * into argv).  args_out, if given, receives the copies for inspection. */
static int parse(struct smb2fs_opts *o, char *err, char **args_out, const char *const *in)
{
	char **argv = argv_copy;
	int argc = 0;

	parse_free_args();
	for (; in[argc]; argc++)
		argv[argc] = strdup(in[argc]);
	int r = opts_parse(argc, argv, o, err, 256);
	if (args_out)
		for (int i = 0; i < argc; i++)
			args_out[i] = argv[i];
	return r;
}

#define ARGS(...) ((const char *const[]){ "smb2fs", __VA_ARGS__, NULL })
#define STREQ(a, b) ((a) && strcmp((a), (b)) == 0)

static void test_basic(void)
{
	struct smb2fs_opts o;
	char err[256], *av[MAXARGS];

	unsetenv("PASSWD");
	CHECK_EQ(parse(&o, err, av, ARGS("//srv/share", "/mnt", "-o",
					  "username=alice,password=secret,domain=CORP,port=4445,sign")),
		 OPTS_OK);
	CHECK(STREQ(o.server, "srv"));
	CHECK(STREQ(o.share, "share"));
	CHECK(STREQ(o.mountpoint, "/mnt"));
	CHECK(STREQ(o.user, "alice"));
	CHECK(STREQ(o.password, "secret"));
	CHECK(STREQ(o.domain, "CORP"));
	CHECK_EQ(o.port, 4445);
	CHECK(o.sign);
	CHECK(!o.guest && !o.ro && !o.foreground && !o.debug);
	CHECK_EQ(o.uid, getuid());
	CHECK_EQ(o.gid, getgid());
	CHECK(o.actimeo == 1.0);
	CHECK_EQ(o.closetimeo, 5);
	/* the secret is gone from argv (what /proc/PID/cmdline shows) */
	CHECK(STREQ(av[4], "username=alice,password=xxxxxx,domain=CORP,port=4445,sign"));
	opts_wipe_password(&o);
	CHECK(o.password == NULL);
	opts_free(&o);
}

static void test_unc_forms(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL, ARGS("\\\\srv\\Share", "m")), OPTS_OK);
	CHECK(STREQ(o.server, "srv") && STREQ(o.share, "Share") && o.prefix == NULL);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("smb://10.0.0.1/s/", "m")), OPTS_OK);
	CHECK(STREQ(o.server, "10.0.0.1") && STREQ(o.share, "s"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv", "m")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("srv/share", "m")), OPTS_USAGE);
	opts_free(&o);
	/* a path after the share: the directory the mount shows */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share/sub", "m")), OPTS_OK);
	CHECK(STREQ(o.share, "share") && STREQ(o.prefix, "sub"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("\\\\srv\\share\\sub\\dir\\", "m")), OPTS_OK);
	CHECK(STREQ(o.share, "share") && STREQ(o.prefix, "sub/dir"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("smb://srv/share//a b/c:d/", "m")), OPTS_OK);
	CHECK(STREQ(o.share, "share") && STREQ(o.prefix, "a b/c:d"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share///", "m")), OPTS_OK);
	CHECK(STREQ(o.share, "share") && o.prefix == NULL);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share/a/../b", "m")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share/./b", "m")), OPTS_USAGE);
	opts_free(&o);
	/* prefixpath= (mount.cifs): the same, and it may repeat the UNC's path */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share", "m", "-o", "prefixpath=/x\\y/")), OPTS_OK);
	CHECK(STREQ(o.prefix, "x/y"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share/x/y", "m", "-o", "prefixpath=x/y")), OPTS_OK);
	CHECK(STREQ(o.prefix, "x/y"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share/x", "m", "-o", "prefixpath=y")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share", "m", "-o", "prefixpath=..")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//srv/share")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//a/b", "m", "extra")), OPTS_USAGE);
	opts_free(&o);
}

static void test_user_forms(void)
{
	struct smb2fs_opts o;
	char err[256], *av[MAXARGS];

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "user=CORP\\bob")), OPTS_OK);
	CHECK(STREQ(o.domain, "CORP") && STREQ(o.user, "bob"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "username=CORP/bob")), OPTS_OK);
	CHECK(STREQ(o.domain, "CORP") && STREQ(o.user, "bob"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, av, ARGS("//s/x", "m", "-ousername=bob%pw1,uid=7")), OPTS_OK);
	CHECK(STREQ(o.user, "bob") && STREQ(o.password, "pw1"));
	CHECK(STREQ(av[3], "-ousername=bob%xxx,uid=7"));
	CHECK_EQ(o.uid, 7);
	opts_free(&o);
	/* mount.cifs: ",," is a literal comma inside a password */
	CHECK_EQ(parse(&o, err, av, ARGS("//s/x", "m", "-o", "pass=a,,b,gid=5")), OPTS_OK);
	CHECK(STREQ(o.password, "a,b"));
	CHECK_EQ(o.gid, 5);
	CHECK(STREQ(av[4], "pass=xxxx,gid=5"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "dom=D1,workgroup=D2")), OPTS_OK);
	CHECK(STREQ(o.domain, "D2"));
	opts_free(&o);
}

static void test_vers(void)
{
	static const struct {
		const char *v;
		int min, max;
	} t[] = {
		{ "vers=2.0", SMB2_DIALECT_202, SMB2_DIALECT_202 },
		{ "vers=2.1", SMB2_DIALECT_210, SMB2_DIALECT_210 },
		{ "vers=3", SMB2_DIALECT_300, SMB2_DIALECT_311 },
		{ "vers=3.0", SMB2_DIALECT_300, SMB2_DIALECT_300 },
		{ "vers=3.0.2", SMB2_DIALECT_302, SMB2_DIALECT_302 },
		{ "vers=3.02", SMB2_DIALECT_302, SMB2_DIALECT_302 },
		{ "vers=3.1.1", SMB2_DIALECT_311, SMB2_DIALECT_311 },
		{ "vers=3.11", SMB2_DIALECT_311, SMB2_DIALECT_311 },
		{ "vers=default", SMB2_DIALECT_202, SMB2_DIALECT_311 },
	};
	struct smb2fs_opts o;
	char err[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", t[i].v)), OPTS_OK);
		CHECK_EQ(o.min_dialect, t[i].min);
		CHECK_EQ(o.max_dialect, t[i].max);
		opts_free(&o);
	}
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK_EQ(o.min_dialect, 0); /* client default */
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "vers=9")), OPTS_USAGE);
	CHECK(strstr(err, "smb2fs: bad vers '9'") == err);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "vers=1.0")), OPTS_USAGE);
	opts_free(&o);
}

static void test_bad_values(void)
{
	static const char *const bad[] = {
		"port=abc", "port=0", "port=65536", "port=", "port", "actimeo=-1", "actimeo=x",
		"uid=no_such_user_xyz", "gid=no_such_group_xyz", "uid=", "guest=1", "cred=",
		"nosign=1", "timeout=0", "timeout=3601", "timeout=5s", "cache=weird", "cache",
		"closetimeo=-1", "closetimeo=3601", "closetimeo=", "closetimeo=1.5",
		"echo_interval=0", "echo_interval=601", "echo_interval=", "echo_interval=2s",
		"rsize=4095", "wsize=x", "acregmax=-1",
	};
	struct smb2fs_opts o;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", bad[i])), OPTS_USAGE);
		CHECK(strncmp(err, "smb2fs: ", 8) == 0 && !strchr(err, '\n'));
		opts_free(&o);
	}
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "rw,foo")), OPTS_USAGE);
	CHECK(strcmp(err, "smb2fs: unknown option 'foo'") == 0);
	opts_free(&o);
	/* the no-effect and refused tables match the name without its '=' */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "netbiosname=X,sloppy")), OPTS_OK);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "ip=127.0.0.1")), OPTS_USAGE);
	CHECK(strstr(err, "option 'ip' is not supported") != NULL);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "ip")), OPTS_USAGE);
	CHECK(strstr(err, "option 'ip' is not supported") != NULL);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-x")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o")), OPTS_USAGE);
	opts_free(&o);
}

static void test_flags_and_noise(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL,
		       ARGS("//s/x", "m", "-o",
			    "rw,_netdev,nofail,auto,noauto,user,users,nouser,exec,noexec,suid,"
			    "nosuid,dev,nodev,defaults,noatime,x-systemd.automount,"
			    "x-systemd.idle-timeout=60,comment=x,actimeo=0,uid=root,gid=0,debug,"
			    "allow_other,closetimeo=0", "-f")),
		 OPTS_OK);
	CHECK(!o.ro && o.debug && o.allow_other && o.foreground && !o.fuse_debug);
	CHECK(o.actimeo == 0.0);
	CHECK_EQ(o.closetimeo, 0);
	CHECK_EQ(o.uid, 0);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("-o", "ro", "//s/x", "-d", "m")), OPTS_OK);
	CHECK(o.ro && o.fuse_debug && o.foreground);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "foo", "--help")), OPTS_EXIT);
	CHECK(o.help);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("-V")), OPTS_EXIT);
	CHECK(o.version);
	opts_free(&o);
}

/* Signing, timeouts and caching: the last of sign/nosign wins. */
static void test_sign_timeout_cache(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK(!o.sign && !o.nosign && o.timeout == 0 && !o.cache_none);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "sign,nosign,timeout=7,cache=none")),
		 OPTS_OK);
	CHECK(!o.sign && o.nosign && o.timeout == 7 && o.cache_none);
	opts_free(&o);
	/* each value lands in its own field (acregmax/acdirmax fold into
	 * actimeo, the shorter) */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o",
					   "echo_interval=600,closetimeo=0,acregmax=3,acdirmax=4,"
					   "actimeo=9,rsize=65536,wsize=8192")),
		 OPTS_OK);
	CHECK(o.echo_interval == 600 && o.closetimeo == 0 && o.acregmax == 3.0 &&
	      o.acdirmax == 4.0 && o.actimeo == 3.0 && o.rsize == 65536 && o.wsize == 8192);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "acdirmax=2,actimeo=2.5")), OPTS_OK);
	CHECK(o.acregmax < 0 && o.acdirmax == 2.0 && o.actimeo == 2.0);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nosign,sign,cache=none,cache=strict")),
		 OPTS_OK);
	CHECK(o.sign && !o.nosign && !o.cache_none && !o.cache_loose);
	opts_free(&o);
	/* the last cache= wins */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "cache=none,cache=loose")), OPTS_OK);
	CHECK(!o.cache_none && o.cache_loose);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "cache=loose,cache=strict")), OPTS_OK);
	CHECK(!o.cache_none && !o.cache_loose);
	opts_free(&o);
	/* seal (mount.cifs's name): off by default, takes no value */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK(!o.seal);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "seal,vers=3.1.1")), OPTS_OK);
	CHECK(o.seal);
	opts_free(&o);
	CHECK(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "seal=1")) != OPTS_OK);
}

static void test_credentials(void)
{
	char path[] = "/tmp/test_opts_credXXXXXX";
	int fd = mkstemp(path);
	struct smb2fs_opts o;
	char err[256], opt[128];
	static const char body[] =
		"# comment\n\n  username=fileuser\r\npassword=file pw with spaces\n"
		"domain=FDOM\nunknown=ignored\n";

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, body, sizeof(body) - 1), (long long)sizeof(body) - 1);
	close(fd);
	snprintf(opt, sizeof(opt), "credentials=%s", path);

	setenv("PASSWD", "envpw", 1);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", opt)), OPTS_OK);
	CHECK(STREQ(o.user, "fileuser"));
	CHECK(STREQ(o.password, "file pw with spaces"));
	CHECK(STREQ(o.domain, "FDOM"));
	opts_free(&o);

	/* the parse took PASSWD out of the environment (it is a secret) */
	CHECK(getenv("PASSWD") == NULL);

	/* command line beats the file, file beats PASSWD */
	setenv("PASSWD", "envpw", 1);
	snprintf(opt, sizeof(opt), "cred=%s,password=cmdpw,user=cmduser", path);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", opt)), OPTS_OK);
	CHECK(STREQ(o.password, "cmdpw"));
	CHECK(STREQ(o.user, "cmduser"));
	CHECK(STREQ(o.domain, "FDOM"));
	opts_free(&o);

	setenv("PASSWD", "envpw", 1);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "user=u")), OPTS_OK);
	CHECK(STREQ(o.password, "envpw"));
	CHECK(getenv("PASSWD") == NULL);
	opts_free(&o);

	setenv("PASSWD", "envpw", 1);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "guest")), OPTS_OK);
	CHECK(o.guest && o.password == NULL);
	opts_free(&o);
	unsetenv("PASSWD");

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "user=u")), OPTS_OK);
	CHECK(o.password == NULL); /* no prompt: empty password */
	opts_free(&o);

	unlink(path);
	snprintf(opt, sizeof(opt), "credentials=%s", path);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", opt)), OPTS_USAGE);
	CHECK(strstr(err, "cannot read credentials file") != NULL);
	opts_free(&o);
}

/* sec=, keytab=, cruid=, spn= (Kerberos). */
static void test_sec(void)
{
	struct smb2fs_opts o;
	char err[256];

	unsetenv("PASSWD");
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m")), OPTS_OK);
	CHECK_EQ(o.sec, OPTS_SEC_NTLMSSP);
	CHECK(o.user != NULL); /* NTLM: the caller's name by default */
	opts_free(&o);

	/* Kerberos: no user by default (the ticket's), no PASSWD read */
	setenv("PASSWD", "pw", 1);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", "sec=krb5")), OPTS_OK);
	CHECK_EQ(o.sec, OPTS_SEC_KRB5);
	CHECK(o.user == NULL && o.password == NULL && !o.sign);
	CHECK(getenv("PASSWD") == NULL);
	opts_free(&o);

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", "sec=krb5i,spn=cifs/fs@R")), OPTS_OK);
	CHECK(o.sec == OPTS_SEC_KRB5 && o.sign && STREQ(o.spn, "cifs/fs@R"));
	opts_free(&o);

	/* keytab= and cruid= imply sec=krb5 */
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", "keytab=/k,username=a@R")), OPTS_OK);
	CHECK(o.sec == OPTS_SEC_KRB5 && STREQ(o.keytab, "/k") && STREQ(o.user, "a@R"));
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", "cruid=0")), OPTS_OK);
	CHECK(o.sec == OPTS_SEC_KRB5 && o.have_cruid && o.cruid == 0);
	opts_free(&o);

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", "sec=none")), OPTS_OK);
	CHECK(o.sec == OPTS_SEC_NONE && o.guest);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", "sec=ntlmsspi")), OPTS_OK);
	CHECK(o.sec == OPTS_SEC_NTLMSSP && o.sign);
	opts_free(&o);

	static const struct {
		const char *opt, *msg;
	} bad[] = {
		{ "sec=ntlm", "not supported" },
		{ "sec=kerberos", "bad sec 'kerberos'" },
		{ "keytab=/k", "keytab= needs username=" },
		{ "sec=ntlmssp,keytab=/k,username=a", "keytab= needs sec=krb5" },
		{ "spn=cifs/x", "spn= needs sec=krb5" },
		{ "guest,cruid=0", "cruid= needs sec=krb5" },
		{ "keytab=/k,username=a,cruid=0", "exclude each other" },
		{ "cruid=no-such-user-xyz", "bad cruid" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "/m", "-o", bad[i].opt)), OPTS_USAGE);
		CHECK(strstr(err, bad[i].msg) != NULL);
		opts_free(&o);
	}
}

/* mapposix (the SFM name mapping) is on by default; the last of
 * mapposix/nomapposix wins; neither takes a value. */
static void test_mapposix(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK(!o.nomapposix);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nomapposix")), OPTS_OK);
	CHECK(o.nomapposix);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nomapposix,mapposix")), OPTS_OK);
	CHECK(!o.nomapposix);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "mapposix", "-o", "nomapposix")),
		 OPTS_OK);
	CHECK(o.nomapposix);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "mapposix=1")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nomapposix=0")), OPTS_USAGE);
	opts_free(&o);
}

/* brl (SMB2 byte-range locks) is the default; nobrl keeps locks local;
 * the last one wins; no value. */
static void test_brl(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK(!o.nobrl);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nobrl")), OPTS_OK);
	CHECK(o.nobrl);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nobrl,brl")), OPTS_OK);
	CHECK(!o.nobrl);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nobrl=1")), OPTS_USAGE);
	opts_free(&o);
}

/* nonotify is the default; notify turns the watches on; the last one
 * wins; no value. */
static void test_notify(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK(!o.notify);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "notify")), OPTS_OK);
	CHECK(o.notify);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "notify,nonotify")), OPTS_OK);
	CHECK(!o.notify);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "notify=1")), OPTS_USAGE);
	opts_free(&o);
}

/* mfsymlinks and user_xattr are on by default, sfu off; the last of each
 * pair wins; none takes a value. */
static void test_links_xattr(void)
{
	struct smb2fs_opts o;
	char err[256];

	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m")), OPTS_OK);
	CHECK(!o.nomfsymlinks);
	CHECK(!o.sfu);
	CHECK(!o.nouser_xattr);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nomfsymlinks,sfu,nouser_xattr")),
		 OPTS_OK);
	CHECK(o.nomfsymlinks);
	CHECK(o.sfu);
	CHECK(o.nouser_xattr);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL,
		       ARGS("//s/x", "m", "-o", "nomfsymlinks,sfu,nouser_xattr", "-o",
			    "mfsymlinks,nosfu,user_xattr")),
		 OPTS_OK);
	CHECK(!o.nomfsymlinks);
	CHECK(!o.sfu);
	CHECK(!o.nouser_xattr);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "mfsymlinks=1")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "sfu=yes")), OPTS_USAGE);
	opts_free(&o);
	CHECK_EQ(parse(&o, err, NULL, ARGS("//s/x", "m", "-o", "nouser_xattr=0")), OPTS_USAGE);
	opts_free(&o);
}

int main(void)
{
	test_basic();
	test_unc_forms();
	test_user_forms();
	test_vers();
	test_bad_values();
	test_flags_and_noise();
	test_sign_timeout_cache();
	test_credentials();
	test_sec();
	test_mapposix();
	test_brl();
	test_notify();
	test_links_xattr();
	parse_free_args();
	return check_done("opts");
}
