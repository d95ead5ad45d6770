#!/bin/bash
# Build the smb2fs .deb from this checkout and print the path of the .deb.
#
#   packaging/build-deb.sh [--head] [OUTDIR]   # default OUTDIR: build-deb/
#
# --head: package the last commit (`git archive HEAD`) instead of the
# working tree.
#
# Debian wants debian/ at the top of the source tree; we keep it under
# packaging/debian.  So: copy the working tree (tracked and untracked files,
# without what .gitignore ignores, e.g. the build*/ directories; or, outside
# a git checkout, everything but build*/ and .git) to a temporary directory
# smb2fs-VERSION/, copy packaging/debian to its debian/, run
# `dpkg-buildpackage -us -uc -b` there (it writes its results to the parent,
# the temporary directory, never next to the checkout), and move the .deb,
# .changes and .buildinfo to OUTDIR.
#
# The build log goes to stderr; stdout is only the .deb's path.
# Needs: dpkg-dev, debhelper and the Build-Depends of packaging/debian/control
# (tests/install-deps.sh installs them).  Not root: Rules-Requires-Root: no.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
HEAD=0
if [ "${1:-}" = "--head" ]; then HEAD=1; shift; fi
OUT=${1:-$SRC/build-deb}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Version from debian/changelog (0.1.0-1) and the upstream part (0.1.0),
# which must be meson.build's project version.
DEBVER=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version)
UPVER=${DEBVER%-*}
MESONVER=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)
if [ "$UPVER" != "$MESONVER" ]; then
  echo "build-deb: packaging/debian/changelog says $UPVER, meson.build says $MESONVER" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smb2fs-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TREE=$WORK/smb2fs-$UPVER
mkdir -p "$TREE"

if [ $HEAD = 1 ]; then
  git -C "$SRC" archive --format=tar HEAD | tar -C "$TREE" -xf -
elif git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and untracked-but-not-ignored files as they are now (deleted
  # tracked files are left out).
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do
         if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
       done \
     | tar --null --no-recursion -T - -cf -) | tar -C "$TREE" -xf -
else
  tar -C "$SRC" --exclude='./build' --exclude='./build-*' --exclude='./.git' \
    -cf - . | tar -C "$TREE" -xf -
fi
rm -rf "$TREE/debian"
cp -a "$SRC/packaging/debian" "$TREE/debian"

ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
echo "build-deb: building smb2fs $DEBVER ($ARCH) in $TREE" >&2
(cd "$TREE" && dpkg-buildpackage -us -uc -b) >&2

base=smb2fs_${DEBVER}_$ARCH
for f in "$base.deb" "$base.changes" "$base.buildinfo"; do
  [ -f "$WORK/$f" ] || { echo "build-deb: $f was not built" >&2; exit 1; }
done
# The other results (e.g. the -dbgsym .deb) go along with the .changes.
for f in "$WORK"/*.deb "$WORK"/*.ddeb "$WORK/$base.changes" "$WORK/$base.buildinfo"; do
  [ -f "$f" ] && mv -f "$f" "$OUT/"
done
echo "$OUT/$base.deb"
