#!/usr/bin/env bash
# Fetch one pinned third-party C library into build/deps/<name>/ and verify it.
#
#   wasm/deps/fetch.sh cjson|libsodium|utf8proc <outdir>
#
# Sources, tried in order, each with its own pinned SHA-256 (a mismatch is treated
# like an unreachable host and the next source is tried; nothing unverified is used):
#   1. the upstream release tarball;
#   2. Debian's source archive of the same release (bookworm's ".orig" tarball),
#      downloaded from the mirror that this machine's apt sources already name, so
#      no mirror is hard-coded here.
# Debian's security patches for the same release (bookworm's debian.tar.xz, pinned
# too) are then applied in the order of their `series` file, whichever source won.
# The sources are never committed: build/ is ignored by git.
set -euo pipefail

name=${1:?usage: fetch.sh cjson|libsodium|utf8proc OUTDIR}
out=${2:?usage: fetch.sh cjson|libsodium|utf8proc OUTDIR}

case "$name" in
  cjson)
    version=1.7.15
    upstream_url="https://github.com/DaveGamble/cJSON/archive/refs/tags/v${version}.tar.gz"
    upstream_sha=5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2
    debian_orig=pool/main/c/cjson/cjson_${version}.orig.tar.gz
    debian_orig_sha=5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2
    debian_patches=pool/main/c/cjson/cjson_${version}-1+deb12u4.debian.tar.xz
    debian_patches_sha=afd19a970966cf534ff1e9ec077d710a5e7e78eb4ec9b499c8bdc32e55da12cb
    ;;
  libsodium)
    version=1.0.18
    upstream_url="https://download.libsodium.org/libsodium/releases/libsodium-${version}.tar.gz"
    upstream_sha=6f504490b342a4f8a4c4a02fc9b866cbef8622d5df4e5452b46be121e46636c1
    debian_orig=pool/main/libs/libsodium/libsodium_${version}.orig.tar.gz
    debian_orig_sha=d59323c6b712a1519a5daf710b68f5e7fde57040845ffec53850911f10a5d4f4
    debian_patches=pool/main/libs/libsodium/libsodium_${version}-1+deb12u1.debian.tar.xz
    debian_patches_sha=f410474e46346b06b162defa05b1be26906aeed6cf309e3d4ebe30b4d1350733
    ;;
  utf8proc)
    # Debian's .orig is upstream's tag archive, byte for byte (same SHA-256). Its one
    # Debian patch only changes how data/ is regenerated; utf8proc.c is untouched.
    version=2.8.0
    upstream_url="https://github.com/JuliaStrings/utf8proc/archive/refs/tags/v${version}.tar.gz"
    upstream_sha=a0a60a79fe6f6d54e7d411facbfcc867a6e198608f2cd992490e46f04b1bcecc
    debian_orig=pool/main/u/utf8proc/utf8proc_${version}.orig.tar.gz
    debian_orig_sha=a0a60a79fe6f6d54e7d411facbfcc867a6e198608f2cd992490e46f04b1bcecc
    debian_patches=pool/main/u/utf8proc/utf8proc_${version}-1.debian.tar.xz
    debian_patches_sha=eae4af835e46ccd258d3eebb501b3610330a434ec6194a0d11c0569fe4c8480b
    ;;
  *) echo "fetch.sh: unknown library '$name'" >&2; exit 2 ;;
esac

if [ -f "$out/.fetched" ]; then exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The Debian mirrors this machine's apt is configured with (deb822 and one-line formats).
debian_mirrors() {
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{for (i = 2; i <= NF; i++) print $i}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
  } | grep -v -- '-security' | grep -E '/debian/?$' | sed 's#/*$##' | awk '!seen[$0]++'
}

# download URL SHA256 DEST: succeed only if the bytes match the pin.
download() {
  local url=$1 sha=$2 dest=$3
  if curl -fsSL --connect-timeout 10 --max-time 300 -o "$dest" "$url" 2>/dev/null; then
    if echo "$sha  $dest" | sha256sum -c --status; then return 0; fi
    echo "fetch.sh: $url: SHA-256 mismatch, not used" >&2
  fi
  rm -f "$dest"; return 1
}

got=""
if download "$upstream_url" "$upstream_sha" "$tmp/src.tar.gz"; then
  got="upstream release ($upstream_url)"
else
  for m in $(debian_mirrors); do
    if download "$m/$debian_orig" "$debian_orig_sha" "$tmp/src.tar.gz"; then
      got="Debian source archive ($debian_orig)"; break
    fi
  done
fi
if [ -z "$got" ]; then
  echo "fetch.sh: could not download $name $version from upstream or from a Debian mirror" >&2
  exit 1
fi

rm -rf "$out"; mkdir -p "$out"
tar xzf "$tmp/src.tar.gz" -C "$out" --strip-components=1

patched="no Debian patches (Debian archive unreachable)"
for m in $(debian_mirrors); do
  if download "$m/$debian_patches" "$debian_patches_sha" "$tmp/debian.tar.xz"; then
    tar xJf "$tmp/debian.tar.xz" -C "$tmp"
    while read -r p; do
      case "$p" in ''|'#'*) continue ;; esac
      patch -d "$out" -p1 -s --forward < "$tmp/debian/patches/$p"
    done < "$tmp/debian/patches/series"
    patched="Debian patches of $(basename "$debian_patches")"
    break
  fi
done
echo "fetch.sh: $name $version from $got; $patched" >&2
echo "$name $version; $got; $patched" > "$out/.fetched"
