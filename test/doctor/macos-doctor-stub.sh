#!/bin/sh
# Test double for the macOS commands aiwatch-doctor.sh calls: profiles, sqlite3, codesign, launchctl, curl,
# security, scutil, stat, id, dscl, plutil, pkgutil, sw_vers. One file, linked under each name (test/doctor/
# fake-mac-doctor.ts). Every call is appended to $STUB_LOG as one line: the command name and its arguments
# separated by \037; curl's --config file is appended to $STUB_STATE/curl.configs (what curl was given to read).
# It answers from files in $STUB_STATE that the test writes:
#   profiles   the output of `profiles show -type configuration` (absent: no profile installed)
#   tcc        rows "client|auth_value" of TCC.db's SystemPolicyAllFiles entries
#   loaded     loaded launchd targets (system/<label>, gui/<uid>/<label>), one per line
#   print.extra  more lines for every `launchctl print` answer (e.g. an environment block)
#   receipts   "<package id> <version>" lines
#   users      "<name>:<uid>" lines (root:0 is implied)
# Knobs (environment): STUB_CONSOLE_USER (default root: nobody logged in), STUB_EUID (default 0),
# STUB_TCC_ERROR (sqlite3 fails with this text), STUB_LAST_EXIT (launchctl print's "last exit code"),
# STUB_CURL_HOST (curl exit code for the host probe, default 0), STUB_CURL_STATUS (HTTP status of the key probe,
# default 200), STUB_CURL_SLEEP (seconds the stub takes).
# Not a macOS emulator: it checks the arguments the doctor should pass and fails loudly (exit 99) otherwise.
set -u
me=${0##*/}
{
  printf '%s' "$me"
  for a in "$@"; do printf '\037%s' "$a"; done
  printf '\n'
} >>"$STUB_LOG"
st=$STUB_STATE

die() {
  printf 'stub %s: %s\n' "$me" "$*" >&2
  exit 99
}
has_line() { grep -q -x -F -e "$1" "$2" 2>/dev/null; }
uid_of() {
  if [ "$1" = root ]; then echo 0; return 0; fi
  K="$1" awk -F: '$1 == ENVIRON["K"] { print $2; found = 1 } END { exit !found }' "$st/users"
}

launchctl_stub() {
  { [ "${1:-}" = print ] && [ $# -eq 2 ]; } || die "only 'launchctl print TARGET' is expected, got: $*"
  if has_line "$2" "$st/loaded"; then
    printf '%s = {\n\tactive count = 0\n\tstate = not running\n\truns = 3\n\tlast exit code = %s\n' "$2" "${STUB_LAST_EXIT:-0}"
    cat "$st/print.extra" 2>/dev/null
    printf '}\n'
    exit 0
  fi
  echo "Could not find service \"${2##*/}\" in domain for port" >&2
  exit 113
}

stat_stub() {
  { [ $# -eq 3 ] && [ "$1" = -f ]; } || die "unexpected arguments: $*"
  case "$2 $3" in
    "%Su /dev/console") echo "${STUB_CONSOLE_USER:-root}" ;;
    "%m "*)
      [ -e "$3" ] || { echo "stat: $3: stat: No such file or directory" >&2; exit 1; }
      PATH=/usr/bin:/bin stat -c %Y "$3"
      ;;
    *) die "unexpected format: $*" ;;
  esac
}

curl_stub() {
  { [ "${1:-}" = -q ]; } || die "-q (ignore ~/.curlrc) must come first, got: $*"
  cfg='' url='' maxtime=''
  while [ $# -gt 0 ]; do
    case $1 in
      --config) cfg=$2; shift ;;
      --url) url=$2; shift ;;
      --max-time) maxtime=$2; shift ;;
      --cacert | --connect-timeout | --output | --write-out | --proto) shift ;;
    esac
    shift
  done
  { [ -n "$maxtime" ]; } || die "no --max-time: the network check would not be bounded"
  { [ -n "$cfg" ] && [ -f "$cfg" ]; } || die "no --config file"
  mode=$(PATH=/usr/bin:/bin stat -c %a "$cfg")
  { [ "$mode" = 600 ]; } || die "the config file $cfg is mode $mode, not 600"
  { printf '>>> %s\n' "$url"; cat "$cfg"; } >>"$st/curl.configs"
  if [ -n "${STUB_CURL_SLEEP:-}" ]; then PATH=/usr/bin:/bin sleep "$STUB_CURL_SLEEP"; fi
  rc=${STUB_CURL_HOST:-0}
  case $rc in
    0) ;;
    6) echo "curl: (6) Could not resolve host: ${url#https://}" >&2; exit 6 ;;
    7) echo "curl: (7) Failed to connect to ${url#https://} port 443 after 3 ms: Couldn't connect to server" >&2; exit 7 ;;
    28) echo "curl: (28) Connection timed out after 5001 milliseconds" >&2; exit 28 ;;
    60) echo "curl: (60) SSL certificate problem: unable to get local issuer certificate" >&2; exit 60 ;;
    *) echo "curl: ($rc) stub failure" >&2; exit "$rc" ;;
  esac
  if grep -q '^header' "$cfg"; then
    printf '%s' "${STUB_CURL_STATUS:-200}"
  else
    printf '200'
  fi
}

plutil_stub() {
  { [ $# -eq 6 ] && [ "$1" = -extract ] && [ "$3" = raw ] && [ "$4" = -o ] && [ "$5" = - ]; } || die "unexpected arguments: $*"
  [ -f "$6" ] || { echo "$6: file does not exist or is not readable or is not a regular file" >&2; exit 1; }
  # The key's value: the element after <key>NAME</key> (a <string>, <true/> or <false/>), on the same or next line.
  K="$2" awk '
    want && /<string>/ { v = $0; sub(/.*<string>/, "", v); sub(/<\/string>.*/, "", v); print v; found = 1; exit }
    want && /<true\/>/ { print "true"; found = 1; exit }
    want && /<false\/>/ { print "false"; found = 1; exit }
    index($0, "<key>" ENVIRON["K"] "</key>") {
      want = 1
      rest = substr($0, index($0, "</key>") + 6)
      if (rest ~ /<string>/) { sub(/.*<string>/, "", rest); sub(/<\/string>.*/, "", rest); print rest; found = 1; exit }
    }
    END { exit !found }' "$6" || { echo "Could not extract value, error: No value at that key path or invalid key path: $2" >&2; exit 1; }
}

case $me in
  launchctl) launchctl_stub "$@" ;;
  stat) stat_stub "$@" ;;
  id)
    case "$*" in
      -u) echo "${STUB_EUID:-0}" ;;
      "-u "*) uid_of "$2" || { echo "id: $2: no such user" >&2; exit 1; } ;;
      *) die "unexpected arguments: $*" ;;
    esac
    ;;
  scutil)
    { [ $# -eq 0 ]; } || die "unexpected arguments: $*"
    read -r line || :
    { [ "$line" = "show State:/Users/ConsoleUser" ]; } || die "unexpected input: $line"
    printf '<dictionary> {\n  GID : 20\n  Name : %s\n  UID : %s\n}\n' "${STUB_CONSOLE_USER:-loginwindow}" "$(uid_of "${STUB_CONSOLE_USER:-root}" 2>/dev/null || echo 0)"
    ;;
  dscl)
    { [ $# -eq 4 ] && [ "$1" = . ] && [ "$2" = -read ] && [ "$4" = NFSHomeDirectory ]; } || die "unexpected arguments: $*"
    echo "NFSHomeDirectory: /Users/${3#/Users/}"
    ;;
  profiles)
    { [ "$*" = "show -type configuration" ]; } || die "unexpected arguments: $*"
    if [ -f "$st/profiles" ]; then cat "$st/profiles"; else echo "There are no configuration profiles installed"; fi
    ;;
  sqlite3)
    { [ $# -eq 2 ]; } || die "unexpected arguments: $*"
    { [ "$2" = "SELECT client, auth_value FROM access WHERE service='kTCCServiceSystemPolicyAllFiles';" ]; } || die "unexpected query: $2"
    if [ -n "${STUB_TCC_ERROR:-}" ]; then echo "Error: $STUB_TCC_ERROR" >&2; exit 1; fi
    [ -f "$1" ] || { echo "Error: unable to open database \"$1\": unable to open database file" >&2; exit 1; }
    cat "$st/tcc" 2>/dev/null || :
    ;;
  codesign)
    { [ $# -eq 2 ] && [ "$1" = -dv ]; } || die "unexpected arguments: $*"
    ident=$(sed -n 's/^IDENT://p' "$2" 2>/dev/null | head -n 1)
    team=$(sed -n 's/^TEAM://p' "$2" 2>/dev/null | head -n 1)
    if [ -z "$ident" ]; then
      echo "$2: code object is not signed at all" >&2
      exit 1
    fi
    printf 'Executable=%s\nIdentifier=%s\nFormat=Mach-O thin (arm64)\nTeamIdentifier=%s\n' "$2" "$ident" "${team:-not set}" >&2
    ;;
  pkgutil)
    { [ "${1:-}" = --pkg-info ] && [ $# -eq 2 ]; } || die "unexpected arguments: $*"
    v=$(K="$2" awk '$1 == ENVIRON["K"] { print $2; found = 1 } END { exit !found }' "$st/receipts" 2>/dev/null) || {
      echo "No receipt for '$2' found at '/'." >&2
      exit 1
    }
    printf 'package-id: %s\nversion: %s\nvolume: /\nlocation: /\ninstall-time: 1764979200\n' "$2" "$v"
    ;;
  sw_vers)
    { [ $# -eq 0 ]; } || die "unexpected arguments: $*"
    printf 'ProductName:\t\tmacOS\nProductVersion:\t\t15.1\nBuildVersion:\t\t24B83\n'
    ;;
  plutil) plutil_stub "$@" ;;
  curl) curl_stub "$@" ;;
  security) die "the doctor is not expected to call security" ;;
  *) die "no stub for this command" ;;
esac
