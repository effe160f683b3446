#!/bin/sh
# install.sh: installs or uninstalls soac (called by `make install` and
# `make uninstall`, see mk/install.mk).
#
#   install.sh install   DESTDIR PREFIX [MODE SOURCE DEST]...
#   install.sh uninstall DESTDIR PREFIX [MODE SOURCE DEST]...
#
# DEST is relative to DESTDIR/PREFIX.  MODE is an octal mode, "link" (SOURCE
# is the symlink's target) or "subst" (SOURCE is a template: @PREFIX@ and
# @VERSION@ are replaced; mode 644).  PREFIX is what installed files refer
# to; DESTDIR only stages them.
#
# install records every file it wrote and every directory it had to create
# in share/soac/install-manifest; uninstall removes those files (and the
# ones named on its command line), then the recorded directories when they
# are empty, so a prefix that was empty before install is empty after
# uninstall and a directory that existed before is never removed.  Run by
# root into a directory the dynamic linker searches (/usr/local/lib, say),
# both refresh its cache with ldconfig.
set -u

die() { echo "install.sh: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: install.sh install|uninstall DESTDIR PREFIX [MODE SOURCE DEST]..."
action=$1 destdir=$2 prefix=$3
shift 3
case "$prefix" in
    /*) ;;
    *) die "PREFIX must be an absolute path (got '$prefix')" ;;
esac
case "$prefix$destdir" in
    *'
'*) die "PREFIX and DESTDIR may not contain a newline" ;;
esac
[ $(($# % 3)) -eq 0 ] || die "items come in MODE SOURCE DEST triples"

root="$destdir$prefix"
manifest_rel=share/soac/install-manifest
manifest="$root/$manifest_rel"

# Creates directory REL (relative to root) and its missing parents,
# printing "d REL" for each one it created, shallowest first.
make_dirs() {
    todo="" p=$1
    while [ "$p" != . ] && [ "$p" != / ]; do
        todo="$p
$todo"
        p=$(dirname "$p")
    done
    if [ ! -d "$root" ]; then
        mkdir -p "$root" || die "cannot create $root"
        echo "d ."
    fi
    old_ifs=$IFS IFS='
'
    for d in $todo; do
        if [ ! -d "$root/$d" ]; then
            mkdir "$root/$d" || die "cannot create $root/$d"
            echo "d $d"
        fi
    done
    IFS=$old_ifs
}

# Moves the finished temporary file TMP to DST with MODE, unless DST already
# has that content and mode: then it stays, mtime and all, so reinstalling
# the same soac does not make every project that includes it rebuild.
put() {
    tmp=$1 dst=$2 mode=$3
    if [ -f "$dst" ] && [ ! -L "$dst" ] && cmp -s "$tmp" "$dst" &&
       [ "$(stat -c %a "$dst")" = "$(printf '%s' "$mode" | sed 's/^0*//')" ]; then
        rm -f "$tmp"
        echo "  SAME    $dst"
        return 0
    fi
    chmod "$mode" "$tmp" && mv -f "$tmp" "$dst" ||
        { rm -f "$tmp"; die "cannot install $dst"; }
    echo "  INSTALL $dst"
}

# Installs one item; a destination is replaced whole, never half-written.
install_item() {
    mode=$1 src=$2 dst="$root/$3"
    case "$mode" in
        link)
            ln -sfn "$src" "$dst" || die "cannot link $dst"
            echo "  LINK    $dst -> $src" ;;
        subst)
            esc=$(printf '%s' "$prefix" | sed 's/[\\|&]/\\&/g')
            sed -e "s|@PREFIX@|$esc|g" -e "s|@VERSION@|${SOA_VERSION:-}|g" "$src" > "$dst.tmp$$" ||
                { rm -f "$dst.tmp$$"; die "cannot install $dst"; }
            put "$dst.tmp$$" "$dst" 644 ;;
        *)
            [ -f "$src" ] || die "$src is missing: run make first"
            cp "$src" "$dst.tmp$$" || { rm -f "$dst.tmp$$"; die "cannot install $dst"; }
            put "$dst.tmp$$" "$dst" "$mode" ;;
    esac
}

do_install() {
    created=$(make_dirs "$(dirname "$manifest_rel")") || exit 1
    [ -n "$created" ] && printf '%s\n' "$created" >> "$manifest"
    while [ $# -ge 3 ]; do
        make_dirs "$(dirname "$3")" >> "$manifest" || exit 1
        install_item "$1" "$2" "$3"
        echo "f $3" >> "$manifest"
        shift 3
    done
    # A reinstall keeps what an earlier install recorded.
    sort -u "$manifest" > "$manifest.tmp$$" && mv -f "$manifest.tmp$$" "$manifest" ||
        die "cannot write $manifest"
}

# After a real (not staged) install or uninstall by root into a directory
# the dynamic linker searches, refresh its cache so programs find
# libsoa.so.0 (or stop finding a removed one).  A private prefix is left
# alone: its users link statically or with an rpath.
refresh_ld_cache() {
    [ -z "$destdir" ] && [ "$(id -u)" = 0 ] && command -v ldconfig > /dev/null 2>&1 ||
        return 0
    case "$prefix/lib" in
        /lib | /usr/lib) ;;
        *) cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null |
               grep -qxF "$prefix/lib" || return 0 ;;
    esac
    ldconfig || echo "install.sh: ldconfig failed: run it before using libsoa.so" >&2
}

# Whether REL is a safe relative path inside the prefix.
inside() {
    case "$1" in /* | .. | ../* | */.. | */../*) return 1 ;; esac
    return 0
}

do_uninstall() {
    [ -d "$root" ] || { echo "nothing installed in $root"; return 0; }
    files="" dirs=""
    while [ $# -ge 3 ]; do
        files="$files
$3"
        shift 3
    done
    if [ -f "$manifest" ]; then
        while read -r kind rel; do
            inside "$rel" || continue
            case "$kind" in
                f) files="$files
$rel" ;;
                d) dirs="$dirs
$rel" ;;
            esac
        done < "$manifest"
    fi
    old_ifs=$IFS IFS='
'
    for f in $files; do
        if [ -e "$root/$f" ] || [ -L "$root/$f" ]; then
            rm -f "$root/$f" && echo "  REMOVE  $root/$f"
        fi
    done
    rm -f "$manifest"
    # Deepest first, so a parent is empty by the time it is tried; a
    # directory still holding someone else's files stays.
    for d in $(printf '%s\n' "$dirs" | sort -u | awk '{ print gsub("/", "/") " " $0 }' | sort -s -k1,1nr | cut -d' ' -f2-); do
        if [ "$d" = . ]; then
            continue
        fi
        [ -d "$root/$d" ] && rmdir "$root/$d" 2>/dev/null
    done
    IFS=$old_ifs
    if printf '%s\n' "$dirs" | grep -qx '\.'; then
        rmdir "$root" 2>/dev/null
    fi
    return 0
}

case "$action" in
    install) do_install "$@" && refresh_ld_cache ;;
    uninstall) do_uninstall "$@" && refresh_ld_cache ;;
    *) die "unknown action '$action' (install or uninstall)" ;;
esac
