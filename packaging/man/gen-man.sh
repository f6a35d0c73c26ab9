#!/bin/sh
# Writes the manual page of a terril daemon from the CLI's own help:
# help2man reads `PROG --help` and `PROG --version` (NAME, SYNOPSIS, the
# top-level options), this script adds a COMMANDS section built from every
# subcommand's `--help` (recursively: `terril-hub node add`), a COMMON
# OPTIONS section with the flags every command takes (the configuration
# keys), then the hand-written sections of INCLUDE (EXIT STATUS, FILES,
# SEE ALSO). Run at package time by cmake/packaging.cmake (install(CODE)).
#
#   gen-man.sh PROG BINARY INCLUDE OUT.8.gz [EMULATOR [ARGS...]]
#
# PROG: the program's name (terril-node); BINARY: the executable to run;
# EMULATOR: how to run it when cross-built (qemu-aarch64-static -L /).
# OUT is gzip -9n (no name, no time stamp: reproducible). Exit 1 on any
# failure (help2man missing, a --help that fails), with the reason.
set -eu

if [ $# -lt 4 ]; then
  echo "usage: $0 PROG BINARY INCLUDE OUT.8.gz [EMULATOR [ARGS...]]" >&2
  exit 2
fi
prog=$1 binary=$2 include=$3 out=$4
shift 4
command -v help2man >/dev/null || {
  echo "gen-man.sh: help2man is missing (apt-get install help2man, or scripts/deps.sh)" >&2
  exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The wrapper is what help2man runs: named PROG, it runs BINARY (under the
# emulator if any) and shows PROG where the CLI's usage line prints the path
# it was run by. (Its $ are the wrapper's own: single quotes on purpose.)
# shellcheck disable=SC2016
{
  echo '#!/bin/sh'
  printf 'out=$('
  for a in "$@" "$binary"; do printf "'%s' " "$a"; done
  echo '"$@" 2>&1) && rc=0 || rc=$?'
  printf "printf '%%s\\\\n' \"\$out\" | sed 's|^Usage: [^ ]*|Usage: %s|'\n" "$prog"
  echo 'exit $rc'
} >"$tmp/$prog"
chmod +x "$tmp/$prog"
run() { "$tmp/$prog" "$@"; }

# subcommands HELP: the names listed under "Subcommands:".
subcommands() {
  printf '%s\n' "$1" | awk '/^Subcommands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [^ ]/ { print $1 }'
}
# Every leaf command path ("enrol", "node add"), one a line, in help order.
leaves() {
  for sub in $(subcommands "$(run --help)"); do
    h=$(run $sub --help)
    kids=$(subcommands "$h")
    if [ -z "$kids" ]; then
      echo "$sub"
    else
      for kid in $kids; do echo "$sub $kid"; done
    fi
  done
}
n=0
: >"$tmp/list"
for path in $(leaves | tr ' ' '+'); do
  n=$((n + 1))
  cmd=$(echo "$path" | tr '+' ' ')
  # shellcheck disable=SC2086 # the command path is words
  run $cmd --help >"$tmp/help.$n"
  echo "$tmp/help.$n $cmd" >>"$tmp/list"
done
[ "$n" -gt 0 ] || { echo "gen-man.sh: $prog --help lists no subcommand" >&2; exit 1; }

# The generated sections, as help2man include text (roff). NAME: the first
# line of --help ("terril-node: what it is"), here rather than by --name,
# which help2man would not decode as UTF-8.
{
  echo "[NAME]"
  run --help | head -n 1 | sed "s/^$prog: /$prog \\\\- /"
} >"$tmp/include.h2m"
awk -v prog="$prog" -v list="$tmp/list" '
function esc(s,    r, i, c) {  # roff: backslashes and hyphens escaped, no leading dot
  r = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") c = "\\e"
    else if (c == "-") c = "\\-"
    r = r c
  }
  if (r ~ /^[.\047]/) r = "\\&" r
  return r
}
function names(s,    parts, k, r) {  # "-o,--output" -> bold names
  split(s, parts, ",")
  r = ""
  for (k = 1; k in parts; k++) r = r (k > 1 ? ", " : "") "\\fB" esc(parts[k]) "\\fR"
  return r
}
function item(head, desc,    sp, first, rest) {
  sp = index(head, " ")
  first = sp ? substr(head, 1, sp - 1) : head
  rest = sp ? substr(head, sp + 1) : ""
  return ".TP\n" names(first) (rest != "" ? " \\fI" esc(rest) "\\fR" : "") "\n" (desc != "" ? esc(desc) "\n" : "")
}
BEGIN {
  while ((getline line < list) > 0) {
    ncmd++
    file[ncmd] = substr(line, 1, index(line, " ") - 1)
    cmd[ncmd] = substr(line, index(line, " ") + 1)
  }
  for (c = 1; c <= ncmd; c++) {
    block = ""; last = ""; lineno = 0
    while ((getline line < file[c]) > 0) {
      lineno++
      if (lineno == 1) { about[c] = line; continue }
      if (line ~ /^Usage: /) { usage[c] = substr(line, 8); continue }
      if (line ~ /^[A-Za-z]+:$/) { block = line; continue }
      if (line == "") { block = ""; continue }
      if (block != "Options:" && block != "Positionals:") continue
      if (line ~ /^  [^ ]/) {
        line = substr(line, 3)
        if (match(line, /  +/)) { head = substr(line, 1, RSTART - 1); desc = substr(line, RSTART + RLENGTH) }
        else { head = line; desc = "" }
        split(head, w, " ")
        key = w[1]
        nopt[c]++
        okey[c, nopt[c]] = key; ohead[c, nopt[c]] = head; odesc[c, nopt[c]] = desc
        opos[c, nopt[c]] = (block == "Positionals:")
        if (!(key in seen_in) || seen_in[key] != c) { count[key]++; seen_in[key] = c }
        last = c SUBSEP nopt[c]
      } else if (last != "" && line ~ /^   +[^ ]/) {
        sub(/^ +/, "", line)
        odesc[last] = (odesc[last] == "" ? "" : odesc[last] " ") line
      }
    }
    close(file[c])
  }
  print "[COMMANDS]"
  print "Each command takes \\fB\\-\\-help\\fR and the options listed in \\fBCOMMON OPTIONS\\fR."
  for (c = 1; c <= ncmd; c++) {
    print ".SS \"" esc(prog " " cmd[c]) "\""
    print esc(about[c])
    print ".PP"
    print "\\fB" esc(prog " " cmd[c]) "\\fR " esc(substr(usage[c], length(prog " " cmd[c]) + 2))
    for (k = 1; k <= nopt[c]; k++)
      if (opos[c, k] || count[okey[c, k]] < ncmd) printf "%s", item(ohead[c, k], odesc[c, k])
  }
  print ""
  print "[COMMON OPTIONS]"
  print "Every command takes these; each but \\fB\\-\\-config\\fR sets the configuration key of the same name"
  print "(flags win over the configuration file, which wins over the defaults)."
  # In the order the first command lists them.
  for (k = 1; k <= nopt[1]; k++)
    if (!opos[1, k] && count[okey[1, k]] == ncmd) printf "%s", item(ohead[1, k], odesc[1, k])
  print ""
}' >>"$tmp/include.h2m"
# INCLUDE without its opening comment (the lines before its first section).
sed -n '/^\[/,$p' "$include" >>"$tmp/include.h2m"

# help2man decodes the help text by the locale: UTF-8 keeps the accents.
LC_ALL=C.UTF-8 help2man --locale=C.UTF-8 --section 8 --no-info --no-discard-stderr --include "$tmp/include.h2m" \
  --output "$tmp/$prog.8" "$tmp/$prog"
# Written aside then renamed: two packagings of one build tree at once (two
# ctests) never install a half-written page.
gzip -9n -c "$tmp/$prog.8" >"$out.$$"
mv -f "$out.$$" "$out"
