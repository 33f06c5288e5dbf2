# tests/guest/lib.sh — what the QEMU guest tests share (tests/numa/guest.sh,
# tests/crashfs/guest.sh): sourced, not run.
#   guest_need          checks QEMU, a kernel image, busybox and cpio; exits
#                       77 with the reason when one is missing.  Sets
#                       $kernel (LSM_GUEST_KERNEL, else the newest
#                       /boot/vmlinuz-*; Debian: linux-image-amd64) and
#                       $kver (its modules' directory name)
#   guest_root          a fresh initramfs tree in $root, removed at exit,
#                       with busybox and the directories init mounts on
#   guest_put FILE...   copies each file to the same absolute path in $root,
#                       with the shared libraries ldd names for it
#   guest_init BODY     writes $root/init: mounts proc, sys, dev and a tmpfs
#                       on /tmp, runs BODY (shell text), powers off
#   guest_boot QEMU_ARGS...
#                       packs $root and boots it (KVM when /dev/kvm is
#                       writable, else software emulation) with the console
#                       on stdout; LSM_GUEST_TIMEOUT (s, default 300) bounds
#                       it.  Returns QEMU's exit status.
# A guest reports on its console; the caller reads it.

guest_skip() { echo "$guest_name guest: skipped: $*"; exit 77; }

guest_need()
{
    command -v qemu-system-x86_64 >/dev/null ||
        guest_skip "no qemu-system-x86_64 (Debian: qemu-system-x86; make deps installs it)"
    kernel=${LSM_GUEST_KERNEL:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)}
    [ -n "$kernel" ] || guest_skip "no kernel image in /boot (Debian: linux-image-amd64) and no LSM_GUEST_KERNEL"
    [ -r "$kernel" ] || guest_skip "cannot read the kernel image $kernel (run as root, or set LSM_GUEST_KERNEL)"
    kver=${kernel##*/vmlinuz-}
    busybox=$(command -v busybox) || guest_skip "no busybox (Debian: busybox-static)"
    command -v cpio >/dev/null || guest_skip "no cpio"
}

guest_root()
{
    root=$(mktemp -d "${TMPDIR:-/tmp}/lsm-$guest_name-guest.XXXXXX")
    trap 'rm -rf "$root" "$root.cpio" "$root.rc"' EXIT
    mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
    guest_put "$busybox"
    [ "$busybox" = /bin/busybox ] || cp -L "$busybox" "$root/bin/busybox"
}

guest_put()
{
    for f in "$@"; do
        mkdir -p "$root$(dirname "$f")" && cp -L "$f" "$root$f" || return 1
        for lib in $(ldd "$f" 2>/dev/null |
                     awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"; }
        done
    done
}

guest_init()
{
    cat > "$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/sbin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
export TMPDIR=/tmp HOME=/tmp LSMD_LOG_LEVEL=info
cd /tmp
$1
poweroff -f
INIT
    chmod 755 "$root/init"
}

guest_boot()
{
    (cd "$root" && find . | cpio -o -H newc --quiet) > "$root.cpio" || return 1
    accel="-accel tcg"
    [ -w /dev/kvm ] && accel="-accel kvm -cpu host"
    # shellcheck disable=SC2086 # $accel is a word list
    { timeout "${LSM_GUEST_TIMEOUT:-300}" qemu-system-x86_64 $accel -kernel "$kernel" \
        -initrd "$root.cpio" -nodefaults -display none -serial stdio -monitor none -no-reboot \
        "$@" </dev/null; echo $? > "$root.rc"; } | sed -u 's/\r$//'
    rc=$(cat "$root.rc")
    [ "$rc" -eq 0 ] || echo "$guest_name guest: qemu exit $rc"
    return "$rc"
}
