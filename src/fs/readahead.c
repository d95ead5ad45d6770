/* Kernel readahead for the mount.  FUSE mounts start with the default
 * 128 KiB window, so a sequential reader has at most two 128 KiB READs in
 * flight and waits a round trip per 256 KiB.  A window of a few times the
 * READ size keeps the connection busy; the kernel then issues the reads
 * concurrently and the multithreaded loop turns each into its own SMB
 * READ.  Best effort: it needs root (sysfs), and a failure only costs
 * speed. */
#include "fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2fs/log.h"

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* The device ("major:minor") of the newest FUSE mount on mountpoint, read
 * from /proc/self/mountinfo: stat() on the mount would ask this very
 * process, which is not serving requests yet. */
static bool mount_device(const char *mountpoint, char *dev, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	while (getline(&line, &cap, f) > 0) {
		char d[32], mp[4096], *sep;
		if (sscanf(line, "%*u %*u %31s %*s %4095s", d, mp) != 2)
			continue;
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "fuse", 4) != 0)
			continue;
		unescape(mp);
		if (strcmp(mp, mountpoint) == 0) {
			snprintf(dev, len, "%s", d);
			found = true; /* keep going: the last one is on top */
		}
	}
	free(line);
	fclose(f);
	return found;
}

void fs_raise_readahead(const char *mountpoint, unsigned kib)
{
	char dev[32], path[96];
	if (!mountpoint || !mount_device(mountpoint, dev, sizeof(dev)))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	FILE *f = fopen(path, "we");
	if (!f) {
		smb2_log_debug("readahead stays at the kernel default: cannot open %s", path);
		return;
	}
	fprintf(f, "%u\n", kib);
	if (fclose(f) != 0)
		smb2_log_debug("readahead stays at the kernel default: cannot write %s", path);
	else
		smb2_log_debug("readahead window %u KiB (%s)", kib, path);
}
