#!/usr/bin/env bash
# Builds this checkout's private PostgreSQL installation tree and installs
# the extension into it.
#
# PostgreSQL finds its share and library directories relative to the
# location of its own executable, so a tree with the system layout under
# $COMMITOPT_PGROOT, the binaries hard-linked (or copied) and everything
# else symlinked, behaves as a full installation.  The extension is then
# installed there with DESTDIR, and two checkouts never overwrite each
# other's extension files, as a system-wide 'make install' would.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

sys_lib=/usr/lib/postgresql/15
sys_share=/usr/share/postgresql/15
ov_lib=$COMMITOPT_PGROOT$sys_lib
ov_share=$COMMITOPT_PGROOT$sys_share

mkdir -p "$COMMITOPT_ROOT"
chmod 755 "$COMMITOPT_ROOT"
rm -rf "$COMMITOPT_PGROOT.new"
mkdir -p "$COMMITOPT_PGROOT.new$sys_lib" "$COMMITOPT_PGROOT.new/usr/share/postgresql"

# Binaries must be real files (PostgreSQL resolves symlinks to find home).
cp -al "$sys_lib/bin" "$COMMITOPT_PGROOT.new$sys_lib/bin" 2>/dev/null ||
	cp -a "$sys_lib/bin" "$COMMITOPT_PGROOT.new$sys_lib/bin"
cp -as "$sys_lib/lib" "$COMMITOPT_PGROOT.new$sys_lib/lib"
cp -as "$sys_share" "$COMMITOPT_PGROOT.new$sys_share"
# Never install through a link to a system-wide commitopt.
rm -f "$COMMITOPT_PGROOT.new$sys_lib/lib/commitopt.so" \
	"$COMMITOPT_PGROOT.new$sys_share"/extension/commitopt*

rm -rf "$COMMITOPT_PGROOT"
mv "$COMMITOPT_PGROOT.new" "$COMMITOPT_PGROOT"

make -s -C "$COMMITOPT_SRC" install DESTDIR="$COMMITOPT_PGROOT" >/dev/null
test -f "$ov_lib/lib/commitopt.so"
test -f "$ov_share/extension/commitopt.control"
