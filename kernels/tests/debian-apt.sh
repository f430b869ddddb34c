# Sourced by kernels/tests/fetch-debian-packages.sh and data/kernel-source/extract.sh: a private
# apt state that reaches Debian's archive (bookworm, trixie, trixie-backports, sid, with their
# security suites), so the system's apt configuration is never touched.
#
#   . kernels/tests/debian-apt.sh
#   debian_apt STATE_DIR NAME   # sets apt_opts, debian_mirror and runs `apt-get update`;
#                               # NAME prefixes errors
#   apt-get "${apt_opts[@]}" download PACKAGE=VERSION ...
#
# The archive is the one this machine's apt sources use, unless HCL_DEBIAN_MIRROR and
# HCL_DEBIAN_SECURITY_MIRROR say otherwise (snapshot.debian.org when a version left the archive).

# The http(s) URIs of this machine's apt sources, one-line and deb822 forms.
debian_apt_uris() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }'
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }'
}

debian_apt() {
  local state=$1 name=$2
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  local security
  debian_mirror="${HCL_DEBIAN_MIRROR:-$(debian_apt_uris | grep -v -- '-security' | grep -m1 '/debian/*$' || true)}"
  security="${HCL_DEBIAN_SECURITY_MIRROR:-$(debian_apt_uris | grep -m1 '/debian-security/*$' || true)}"
  if [ -z "$debian_mirror" ] || [ -z "$security" ]; then
    echo "$name: no Debian archive in this machine's apt sources; set HCL_DEBIAN_MIRROR and HCL_DEBIAN_SECURITY_MIRROR" >&2
    return 1
  fi
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  cat >"$state/sources.list" <<SOURCES
deb [signed-by=$keyring] $debian_mirror bookworm main
deb [signed-by=$keyring] $security bookworm-security main
deb [signed-by=$keyring] $debian_mirror trixie main
deb [signed-by=$keyring] $security trixie-security main
deb [signed-by=$keyring] $debian_mirror trixie-backports main
deb [signed-by=$keyring] $debian_mirror sid main
SOURCES
  apt_opts=(
    -o "Dir::Etc::SourceList=$state/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$state/lists"
    -o "Dir::Cache=$state/cache"
    -o "APT::Sandbox::User=root"
  )
  apt-get "${apt_opts[@]}" -qq update
}
