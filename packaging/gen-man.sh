#!/bin/sh
# gen-man.sh SOAC OUT.1: writes the man page of soac from `SOAC --help`, so
# the page says exactly what --help says (mk/install.mk runs it at build
# time).  It reads the help's shape:
#
#   usage: soac ...            (and indented continuation lines) -> SYNOPSIS
#   a paragraph                                                  -> DESCRIPTION
#   Options:                   "  -f, --flag ARG   text", continued by deeper
#                              indented lines                    -> OPTIONS
#   Examples:                  "  command   comment"             -> EXAMPLES
#   any later paragraph                                          -> NOTES
#
# and fails, writing nothing, when soac fails or the help has no options.
set -u
[ $# -eq 2 ] || { echo "usage: gen-man.sh SOAC OUT.1" >&2; exit 2; }
soac=$1 out=$2

help=$("$soac" --help) || { echo "gen-man.sh: '$soac --help' failed" >&2; exit 1; }
version=$("$soac" --version | awk 'NR == 1 { print $2 }') ||
    { echo "gen-man.sh: '$soac --version' failed" >&2; exit 1; }

printf '%s\n' "$help" | awk -v version="$version" '
# roff escapes: backslashes, minus signs (so options copy and paste as
# ASCII), and a leading dot or quote that would read as a request.
function esc(s) {
    gsub(/\\/, "\\e", s)
    gsub(/-/, "\\-", s)
    if (s ~ /^[.\047]/) s = "\\&" s
    return s
}
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
# "-I DIR" -> \fB\-I\fR \fIDIR\fR: words starting with - bold, others italic.
function flagfmt(s,    n, w, i, r, sep) {
    n = split(s, w, / +/); r = ""
    for (i = 1; i <= n; i++) {
        sep = ""
        if (w[i] ~ /,$/) { sep = ","; sub(/,$/, "", w[i]) }
        r = r (i > 1 ? " " : "") (w[i] ~ /^-/ ? "\\fB" : "\\fI") esc(w[i]) "\\fR" sep
    }
    return r
}
function flush_item() {
    if (item == "") return
    print ".TP"
    print (section == "OPTIONS" ? flagfmt(item) : "\\fB" esc(item) "\\fR")
    if (text != "") print esc(text)
    item = ""; text = ""
}
function flush_para() {
    if (para == "") return
    if (section != "DESCRIPTION" && section != "NOTES") { section = "NOTES"; print ".SH NOTES" }
    print ".PP"; print esc(para); para = ""
}
BEGIN { state = "usage"; section = ""; nopts = 0 }
state == "usage" && /^usage: / {
    syn = syn (syn == "" ? "" : "\n.br\n") esc(substr($0, 8)); next
}
state == "usage" && /^[ \t]+[^ \t]/ && syn != "" {
    syn = syn "\n.br\n" esc(trim($0)); next
}
state == "usage" && /^[ \t]*$/ {
    if (syn == "") next
    name = ""
    print ".TH SOAC 1 \"\" \"soac " version "\" \"User Commands\""
    state = "body"; pending_name = 1; next
}
state == "usage" { print "gen-man.sh: help does not start with a usage line" > "/dev/stderr"; bad = 1; exit 1 }
# The first paragraph: NAME (its first clause) and DESCRIPTION.
pending_name && /^[^ \t].*[^:]$/ { desc = desc (desc == "" ? "" : " ") trim($0); next }
pending_name && /^[ \t]*$/ && desc != "" {
    whatis = desc
    sub(/^soac /, "", whatis); sub(/(: |, |\. |[.:]$).*$/, "", whatis)
    print ".SH NAME"; print "soac \\- " esc(whatis)
    print ".SH SYNOPSIS"; print syn
    print ".SH DESCRIPTION"; print ".PP"; print esc(desc)
    section = "DESCRIPTION"; pending_name = 0; next
}
/^Options:$/  { flush_item(); flush_para(); section = "OPTIONS";  print ".SH OPTIONS";  next }
/^Examples:$/ { flush_item(); flush_para(); section = "EXAMPLES"; print ".SH EXAMPLES"; next }
/^[ \t]*$/ { flush_item(); flush_para(); next }
# An entry: two spaces, the item, two or more spaces, its text.
(section == "OPTIONS" || section == "EXAMPLES") && /^  [^ ]/ {
    flush_item()
    line = substr($0, 3)
    if (match(line, /  +/)) { item = substr(line, 1, RSTART - 1); text = trim(substr(line, RSTART)) }
    else { item = trim(line); text = "" }
    if (section == "OPTIONS") nopts++
    next
}
(section == "OPTIONS" || section == "EXAMPLES") && /^    / && item != "" {
    text = text (text == "" ? "" : " ") trim($0); next
}
{ flush_item(); para = para (para == "" ? "" : " ") trim($0) }
END {
    if (bad) exit 1
    if (state != "body" || pending_name) { print "gen-man.sh: help has no usage line and description" > "/dev/stderr"; exit 1 }
    flush_item(); flush_para()
    if (nopts == 0) { print "gen-man.sh: found no options in the help" > "/dev/stderr"; exit 1 }
}' > "$out.tmp$$" || { rm -f "$out.tmp$$"; exit 1; }
mv -f "$out.tmp$$" "$out"
