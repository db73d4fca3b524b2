#!/usr/bin/env bash
# Install the Autobahn Testsuite (`wstest`, Python 2.7 only) into .cache/autobahn. Idempotent.
#
# Usage: scripts/conformance/install.sh [--force] [--no-verify]
#   --force       reinstall even when the stamp says the install is current
#   --no-verify   skip the smoke test (start `wstest -m fuzzingserver`, ask /getCaseCount)
#
# Environment:
#   AUTOBAHN_HOME    install folder (default: <repo>/.cache/autobahn, gitignored)
#   AUTOBAHN_PYTHON  the Python 2.7 interpreter to use (default: see pick_python below)
#
# Result: $AUTOBAHN_HOME/bin/wstest, a wrapper that runs the testsuite with that interpreter.
#
# Layout of $AUTOBAHN_HOME:
#   tools/      upstream pip 20.3.4, setuptools 44.1.1, wheel 0.34.2 (the build tools)
#   site/       the testsuite and its pinned dependencies (scripts/conformance/requirements.txt)
#   pip-cache/  pip's download and wheel cache, so that a forced reinstall needs little network
#   bin/wstest  the wrapper
#   stamp       what was installed; a second run with the same inputs does nothing
#
# Why not Debian's pip directly: Debian's pip wheel is de-vendored (it imports pep517 from another
# wheel of /usr/share/python-wheels), and PEP 517 builds run from inside that zip fail
# ("can't find '__main__' module"), which breaks wsaccel 0.6.6. Debian's setuptools wheel also
# lacks pkg_resources. So Debian's pip (or the interpreter's own) only bootstraps upstream pip.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
home=${AUTOBAHN_HOME:-$root/.cache/autobahn}
requirements=$here/requirements.txt
deb_pip_wheel=/usr/share/python-wheels/pip-20.3.4-py2.py3-none-any.whl

force=0
verify=1
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --no-verify) verify=0 ;;
    -h | --help)
      sed -n '2,8p' "$0"
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done

log() { echo "autobahn: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Run as root, or through sudo when there is one.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo > /dev/null; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

# Debian bookworm has no Python 2; bullseye does. Add a deb822 source for suite bullseye with the
# same mirror and keyring as the machine's own debian.sources, then install from it.
apt_install_python2() {
  command -v apt-get > /dev/null || die "no python2.7 and no apt-get to install it"
  if ! grep -Eqs '^(Suites:.*[[:space:]]bullseye([[:space:]]|$)|deb[[:space:]].*[[:space:]]bullseye[[:space:]])' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*; then
    local own=/etc/apt/sources.list.d/debian.sources uris="" signed=""
    if [ -f "$own" ]; then
      uris=$(awk '/^URIs:/ { print $2; exit }' "$own")
      signed=$(awk '/^Signed-By:/ { print $2; exit }' "$own")
    fi
    uris=${uris:-http://deb.debian.org/debian}
    signed=${signed:-/usr/share/keyrings/debian-archive-keyring.gpg}
    log "adding /etc/apt/sources.list.d/bullseye.sources ($uris)"
    printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: %s\n' \
      "$uris" "$signed" | as_root tee /etc/apt/sources.list.d/bullseye.sources > /dev/null
  fi
  log "apt-get install -t bullseye python2.7 python2.7-dev python-pip-whl"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -t bullseye python2.7 python2.7-dev python-pip-whl > /dev/null
}

# Which Python 2.7: $AUTOBAHN_PYTHON, else Debian's /usr/bin/python2.7, else a pyenv 2.7 (some
# machine images carry one), else Debian's installed from bullseye.
pick_python() {
  if [ -n "${AUTOBAHN_PYTHON:-}" ]; then
    echo "$AUTOBAHN_PYTHON"
    return
  fi
  if [ -x /usr/bin/python2.7 ]; then
    echo /usr/bin/python2.7
    return
  fi
  local candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python2.7; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  echo /usr/bin/python2.7
}

# The inputs of an install: a change in any of them means reinstall.
stamp_of() {
  local py=$1
  {
    echo "python=$py"
    sha256sum "$requirements" "$here/install.sh" | awk '{ print $1 }'
  } | tr '\n' ' '
}

python=$(pick_python)
stamp=$(stamp_of "$python")
if [ "$force" = 0 ] && [ -x "$python" ] && [ -x "$home/bin/wstest" ] &&
  [ "$(cat "$home/stamp" 2> /dev/null)" = "$stamp" ]; then
  log "up to date ($home)"
  exit 0
fi

start=$SECONDS

# The Debian interpreter needs its headers (wsaccel compiles a C extension) and, to bootstrap, a
# pip: the python-pip-whl wheel. Install whatever is missing; skip apt when all is there.
if [ "$python" = /usr/bin/python2.7 ]; then
  if [ ! -x /usr/bin/python2.7 ] || [ ! -f /usr/include/python2.7/Python.h ] ||
    { [ ! -f "$deb_pip_wheel" ] && ! /usr/bin/python2.7 -m pip --version > /dev/null 2>&1; }; then
    apt_install_python2
  fi
fi
[ -x "$python" ] || die "$python is not executable"
"$python" -c 'import sys; assert sys.version_info[:2] == (2, 7)' ||
  die "$python is not Python 2.7"
command -v gcc > /dev/null || log "warning: no gcc; building wsaccel will fail"

mkdir -p "$home"
install_log=$home/install.log
: > "$install_log"
log "installing into $home with $python (log: $install_log)"

# Keep pip quiet about Python 2's end of life and away from the user's site-packages.
export PYTHONNOUSERSITE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONWARNINGS=ignore

run_logged() {
  if ! "$@" >> "$install_log" 2>&1; then
    tail -n 40 "$install_log" >&2
    die "command failed: $*"
  fi
}

# 1. Build tools: upstream pip, setuptools with pkg_resources, wheel. Debian's pip wheel runs only
# on Debian's interpreter (it finds its de-vendored modules through Debian's patches); any other
# Python 2.7 (pyenv) bootstraps with its own pip.
if [ "$python" = /usr/bin/python2.7 ] && [ -f "$deb_pip_wheel" ]; then
  bootstrap=("$python" "$deb_pip_wheel/pip")
else
  bootstrap=("$python" -m pip)
fi
rm -rf "$home/tools"
run_logged "${bootstrap[@]}" install --no-cache-dir --target "$home/tools" \
  pip==20.3.4 setuptools==44.1.1 wheel==0.34.2

# 2. The testsuite, into a fresh folder that replaces the old one only when complete.
rm -rf "$home/site.new"
run_logged env PYTHONPATH="$home/tools" "$python" -m pip install \
  --cache-dir "$home/pip-cache" --no-warn-script-location --progress-bar off \
  --target "$home/site.new" -r "$requirements"
rm -rf "$home/site"
mv "$home/site.new" "$home/site"

# 3. The wrapper. site.addsitedir (not PYTHONPATH) so that the .pth files of namespace packages
# (zope.interface) are processed.
mkdir -p "$home/bin"
cat > "$home/bin/wstest" << EOF
#!/bin/sh
# Generated by scripts/conformance/install.sh: run the Autobahn Testsuite from $home/site.
site=\$(cd "\$(dirname "\$0")/../site" && pwd)
export PYTHONNOUSERSITE=1 PYTHONWARNINGS=ignore
exec "$python" -c 'import site, sys; site.addsitedir(sys.argv[1]); del sys.argv[1]; sys.argv[0] = "wstest"; from autobahntestsuite.wstest import run; run()' "\$site" "\$@"
EOF
chmod +x "$home/bin/wstest"
"$home/bin/wstest" --autobahnversion >> "$install_log" 2>&1 ||
  die "wstest does not start (see $install_log)"

# 4. Smoke test: a fuzzing server starts and answers /getCaseCount (checked with the ws package).
if [ "$verify" = 1 ]; then
  if command -v node > /dev/null && [ -d "$root/node_modules/ws" ]; then
    node "$here/smoke.mjs" "$home/bin/wstest" || die "fuzzingserver smoke test failed"
  else
    log "warning: node or node_modules/ws missing; smoke test skipped"
  fi
fi

echo "$stamp" > "$home/stamp"
log "installed in $((SECONDS - start)) s: $home/bin/wstest"
