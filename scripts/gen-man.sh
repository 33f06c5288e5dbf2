#!/bin/sh
# gen-man.sh TEMPLATE VERSION PROGRAM|--header HEADER — writes a man page to
# stdout: TEMPLATE (man/*.in, troff) with @VERSION@ replaced and its @HELP@
# line replaced by PROGRAM's own --help text (the one list of flags and
# commands: the page cannot drift from the program), or, for a library
# page, @FUNCTIONS@ by the function declarations of HEADER.
set -eu
tmpl=$1 version=$2; shift 2
body=$(mktemp); trap 'rm -f "$body"' EXIT
if [ "$1" = --header ]; then
    # One line per declaration: from a line starting with a return type up
    # to its ';' (declarations that wrap are joined).
    awk '/^[a-z]/ && !/^typedef/ && /^[^(]*[ *]lsm_[a-z0-9_]+\(/ { d = $0; open = 1 }
         open && d != $0 { sub(/^ +/, " "); d = d $0 }
         open && /;/ { gsub(/ +/, " ", d); print d; open = 0 }' "$2" > "$body"
else
    "$1" --help > "$body" 2>&1 || true
fi
[ -s "$body" ] || { echo "gen-man.sh: $1 printed nothing" >&2; exit 1; }
# troff: a backslash is \e; a line starting with . or ' would be a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" "$body"; }
while IFS= read -r line; do
    case $line in
        @HELP@|@FUNCTIONS@) printf '.nf\n'; esc; printf '.fi\n' ;;
        *) printf '%s\n' "$line" | sed "s/@VERSION@/$version/g" ;;
    esac
done < "$tmpl"
