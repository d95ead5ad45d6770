/* mount.cifs credentials files:
 *     username=alice      (or user=; DOMAIN\alice works too)
 *     password=secret     (or pass=; the rest of the line, spaces included)
 *     domain=CORP         (or dom=, workgroup=)
 * Blank lines and lines starting with '#' are ignored, as are unknown keys. */
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *key_value(const char *line, const char *const *keys)
{
	for (; *keys; keys++) {
		size_t n = strlen(*keys);
		if (strncmp(line, *keys, n) == 0 && line[n] == '=')
			return line + n + 1;
	}
	return NULL;
}

int creds_read_file(const char *path, struct smb2fs_opts *o, char *err, size_t errlen)
{
	static const char *const user_keys[] = { "username", "user", NULL };
	static const char *const pass_keys[] = { "password", "pass", NULL };
	static const char *const dom_keys[] = { "domain", "dom", "workgroup", NULL };
	/* command line values win over the file */
	bool have_user = o->user != NULL, have_pass = o->password != NULL;
	bool have_dom = o->domain != NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct stat sb;
	int rc = OPTS_OK;
	char iobuf[4096]; /* our own stdio buffer, so it can be wiped */
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "smb2fs: cannot read credentials file %s: %s", path,
			 strerror(errno));
		return OPTS_USAGE;
	}
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & S_IROTH))
		fprintf(stderr, "smb2fs: warning: credentials file %s is readable by everyone "
			"(chmod 600 it)\n", path);

	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *v, *s = line;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		int r = 0;
		if ((v = key_value(s, user_keys))) {
			if (!have_user)
				r = opts_set_user(o, v, strlen(v));
		} else if ((v = key_value(s, pass_keys))) {
			if (!have_pass)
				r = opts_set_password(o, v, strlen(v));
		} else if ((v = key_value(s, dom_keys))) {
			if (!have_dom)
				r = opts_set_str(&o->domain, v, strlen(v));
		}
		if (r) {
			snprintf(err, errlen, "smb2fs: out of memory");
			rc = OPTS_USAGE;
			break;
		}
	}
	if (rc == OPTS_OK && ferror(f)) {
		snprintf(err, errlen, "smb2fs: cannot read credentials file %s: %s", path,
			 strerror(errno));
		rc = OPTS_USAGE;
	}
	if (line) {
		explicit_bzero(line, cap);
		free(line);
	}
	fclose(f);
	explicit_bzero(iobuf, sizeof(iobuf));
	return rc;
}
