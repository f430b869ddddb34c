#!/usr/bin/env bash
# Regenerates data/debian-contents/: for each Debian suite a candidate kernel comes from, every
# file or symlink some package of the suite installs under /lib/firmware or /usr/lib/firmware,
# with its package, from the archive's Contents indices (all four components, Contents-amd64 and
# Contents-all: firmware packages are Architecture: all, which Contents-amd64 leaves out).
#
# Output: <suite>.tsv.zst (`path-under-lib/firmware<TAB>package`, sorted, one line per package
# shipping the path) and SOURCE.txt (the Release date and SHA-256 of every index read).
# The InRelease files are checked with gpgv against Debian's archive keyring and every Contents
# file against the SHA-256 its Release lists. Downloads (about 250 MB) are cached in
# $HCL_CONTENTS_CACHE (default ~/.cache/hcl-probe/debian-contents); HCL_DEBIAN_MIRROR picks the
# mirror (default http://deb.debian.org/debian).
set -euo pipefail

out="$(cd "$(dirname "$0")" && pwd)"
cache="${HCL_CONTENTS_CACHE:-$HOME/.cache/hcl-probe/debian-contents}"
mirror="${HCL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
keyring="${HCL_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
suites=(bookworm trixie trixie-backports sid)
components=(main contrib non-free non-free-firmware)
archs=(amd64 all)

for tool in curl gpgv zstd sha256sum; do
  command -v "$tool" >/dev/null || { echo "regenerate.sh: needs $tool" >&2; exit 1; }
done

# The `SHA256:` entry of a Release file for one index.
release_sha256() {
  awk -v want="$2" '
    /^SHA256:/ { in_sha = 1; next }
    /^[^ ]/ { in_sha = 0 }
    in_sha && $3 == want { print $1; exit }
  ' "$1"
}

# Contents lines are `PATH  area/section/package[,area/section/package...]`; PATH may hold
# spaces, the location list never does.
extract_firmware() {
  awk '
    {
      loc = $NF
      path = substr($0, 1, length($0) - length(loc))
      sub(/[ \t]+$/, "", path)
      if (path !~ /^(usr\/)?lib\/firmware\//) next
      sub(/^(usr\/)?lib\/firmware\//, "", path)
      n = split(loc, items, ",")
      for (i = 1; i <= n; i++) {
        k = split(items[i], parts, "/")
        printf "%s\t%s\n", path, parts[k]
      }
    }'
}

mkdir -p "$cache"
source_lines=()
for suite in "${suites[@]}"; do
  dir="$cache/$suite"
  mkdir -p "$dir"
  curl -fsS --retry 3 -o "$dir/InRelease" "$mirror/dists/$suite/InRelease"
  gpgv --keyring "$keyring" --output "$dir/Release" "$dir/InRelease" 2>"$dir/gpgv.log" || {
    cat "$dir/gpgv.log" >&2
    echo "regenerate.sh: $suite/InRelease: bad signature" >&2
    exit 1
  }
  date=$(awk -F': ' '$1 == "Date" { print $2; exit }' "$dir/Release")
  source_lines+=("$suite: Release dated $date")
  : >"$dir/firmware.tsv"
  for comp in "${components[@]}"; do
    for arch in "${archs[@]}"; do
      name="$comp/Contents-$arch.gz"
      file="$dir/${comp}_Contents-$arch.gz"
      want=$(release_sha256 "$dir/Release" "$name")
      if [ -z "$want" ]; then
        echo "regenerate.sh: $suite Release lists no $name" >&2
        exit 1
      fi
      if [ ! -s "$file" ] || [ "$(sha256sum <"$file" | cut -d' ' -f1)" != "$want" ]; then
        # By hash when the archive offers it: a mirror mid-update may serve a newer file under
        # the plain name than the Release we checked.
        url="$mirror/dists/$suite/$name"
        if grep -q '^Acquire-By-Hash: yes' "$dir/Release" &&
          curl -fsS --retry 3 -o "$file.part" -D "$file.headers" \
            "$mirror/dists/$suite/$comp/by-hash/SHA256/$want" 2>/dev/null; then
          :
        else
          curl -fsS --retry 3 -o "$file.part" -D "$file.headers" "$url"
        fi
        mv "$file.part" "$file"
      fi
      have=$(sha256sum <"$file" | cut -d' ' -f1)
      fetched=$(awk -F': ' 'tolower($1) == "date" { sub(/\r$/, "", $2); print $2 }' \
        "$file.headers" 2>/dev/null | tail -1)
      if [ "$have" = "$want" ]; then
        source_lines+=("  $name sha256:$have (as the Release lists; fetched ${fetched:-?})")
      elif [ -n "${HCL_CONTENTS_ALLOW_MISMATCH:-}" ]; then
        # Some mirrors serve Contents files of another publication than their InRelease and
        # keep no by-hash copy; say so rather than pretend the file was verified.
        echo "regenerate.sh: warning: $suite/$name: SHA-256 $have, Release says $want" >&2
        source_lines+=("  $name sha256:$have (NOT the Release's $want: the mirror served another publication; fetched ${fetched:-?})")
      else
        echo "regenerate.sh: $suite/$name: SHA-256 $have, Release says $want" \
          "(set HCL_CONTENTS_ALLOW_MISMATCH=1 to take it anyway, noted in SOURCE.txt)" >&2
        exit 1
      fi
      zcat "$file" | extract_firmware >>"$dir/firmware.tsv"
    done
  done
  LC_ALL=C sort -u "$dir/firmware.tsv" | zstd -q -19 -f -o "$out/$suite.tsv.zst"
  echo "regenerate.sh: $suite: $(LC_ALL=C sort -u "$dir/firmware.tsv" | wc -l) firmware paths"
done

{
  cat <<'HEAD'
Debian firmware file lists, per suite, from the archive's Contents indices.

Made by data/debian-contents/regenerate.sh (run it to refresh; it checks InRelease with gpgv
against debian-archive-keyring and each index against the SHA-256 its Release lists).
Source: $mirror/dists/<suite>/<component>/Contents-{amd64,all}.gz for the components main,
contrib, non-free and non-free-firmware (firmware packages are Architecture: all, which
Contents-amd64 does not list).
Kept: every path under lib/firmware/ or usr/lib/firmware/ (regular files and symlinks alike:
Contents lists both), written relative to the firmware folder, with the package that installs it;
one line per (path, package), sorted (LC_ALL=C). Format: <suite>.tsv.zst, zstd, `path<TAB>package`.
Which suite serves which profile: debian-12 bookworm; debian-13 trixie; debian-13-backports
trixie + trixie-backports (a backports kernel runs on trixie and takes firmware from either);
debian-sid sid.

Indices read:
HEAD
  printf '%s\n' "${source_lines[@]}"
} | sed "s|\\\$mirror|$mirror|" >"$out/SOURCE.txt"
echo "regenerate.sh: wrote $out/SOURCE.txt"
