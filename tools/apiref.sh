#!/bin/sh
# SPDX-License-Identifier: MIT
#
# apiref.sh - the API reference, docs/api.md, generated from the public
# headers: include/goc.h first, then every other include/*.h and
# include/goc/*.h.  Their comments are the source of truth; this script
# only arranges them.
#
#     sh tools/apiref.sh              write docs/api.md (make apiref)
#     sh tools/apiref.sh --check      exit 1 if docs/api.md is not what the
#                                     headers give now (the test apiref)
#     sh tools/apiref.sh -o FILE      write FILE instead (- : stdout)
#
# POSIX sh and awk only (Debian's mawk will do): nothing to install.
#
# What it reads, in each header (the conventions of include/goc.h):
#   - The comment at the top, before the include guard: the file's
#     introduction (an SPDX line alone is skipped).
#   - A banner, a comment that opens and closes with a line of dashes:
#         /* ------------------------------------------------------------
#          * Title
#          *
#          * Introduction of the section.
#          * ------------------------------------------------------------ */
#     starts a section.
#   - A comment directly above declarations (no blank line between)
#     documents them: they make one entry, which a blank line or the next
#     comment ends.  A declaration is a #define, a typedef, an enum, a
#     function or a variable; #if/#else/#endif lines among them are shown
#     with them.  A comment followed by a blank line is a note of its
#     section.
#   - Names that start with goc__ or GOC__ are internal and left out, as
#     is an include guard, and an entry without a comment whose macros
#     are each defined more than once (per compiler: GOC_EXTERN).
# In a comment, blank lines separate paragraphs; lines indented by two or
# more spaces are code (as in Go's doc comments); a line that starts with
# "Blocks:", "Returns:", "Errors:" or "Fatal:" starts a field, whose lines
# of the form "GOC_EXXX  text" (two spaces) become a list.  Identifiers
# with an underscore are set as code, and those of the API link to their
# entries.
set -u
export LC_ALL=C

out=docs/api.md
check=0
while [ $# -gt 0 ]; do
    case $1 in
    --check) check=1 ;;
    -o)
        [ $# -ge 2 ] || { echo "apiref: -o wants a file" >&2; exit 2; }
        out=$2
        shift ;;
    -h | --help)
        sed -n '/^# apiref.sh/,/^# POSIX/p' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
    *)
        echo "usage: sh tools/apiref.sh [--check | -o FILE]" >&2
        exit 2 ;;
    esac
    shift
done

cd "$(dirname "$0")/.." || exit 1

# The headers, goc.h first.
set -- include/goc.h
for h in include/*.h include/goc/*.h; do
    [ -f "$h" ] && [ "$h" != include/goc.h ] && set -- "$@" "$h"
done
[ -f include/goc.h ] || { echo "apiref: include/goc.h not found" >&2; exit 1; }

generate() {
    awk '
# ---- reading --------------------------------------------------------------

# The text of a comment line: without "/*", "*/" and the leading " * ".
function comment_text(s, first) {
    if (first)
        sub(/^[ \t]*\/\*+ ?/, "", s)
    else if (s ~ /^[ \t]*\*\//)
        s = ""
    else
        sub(/^[ \t]*\* ?/, "", s)
    sub(/[ \t]*\*+\/[ \t]*$/, "", s)
    sub(/[ \t]+$/, "", s)
    return s
}

# s without its comments, for counting brackets; cstate carries an open
# comment from line to line.
function code_only(s,    out, i) {
    out = ""
    while (s != "") {
        if (cstate) {
            i = index(s, "*/")
            if (i == 0)
                return out
            s = substr(s, i + 2)
            cstate = 0
        } else {
            i = index(s, "/*")
            if (i == 0)
                return out s
            out = out substr(s, 1, i - 1) " "
            s = substr(s, i + 2)
            cstate = 1
        }
    }
    return out
}

function count(s, c,    n, i) {
    n = 0
    for (i = 1; i <= length(s); i++)
        if (substr(s, i, 1) == c)
            n++
    return n
}

function internal(name) {
    return name ~ /^(goc__|GOC__)/
}

# A new item of the document: kind file, section, note or entry.
function item(kind, title, text, code, names) {
    nitems++
    ikind[nitems] = kind
    ititle[nitems] = title
    itext[nitems] = text
    icode[nitems] = code
    inames[nitems] = names
}

function open_group(comment) {
    gopen = 1
    gcomment = comment
    nunits = 0
}

# Close the open group: an entry if it declares a public name, a note if
# it is a comment alone.
function close_group(    k, n, names, code, nm, i, seen, defs, plumbing, t) {
    if (!gopen)
        return
    gopen = 0
    names = ""
    code = ""
    split("", seen)
    split("", defs)
    plumbing = (gcomment == "")
    for (k = 1; k <= nunits; k++) {
        n = split(unames[k], nm, " ")
        if (ukind[k] == "macro")
            for (i = 1; i <= n; i++)
                defs[nm[i]]++
        if (ukind[k] != "macro" && ukind[k] != "cond")
            plumbing = 0
    }
    for (k = 1; k <= nunits; k++) {
        n = split(unames[k], nm, " ")
        t = 0
        for (i = 1; i <= n; i++) {
            if (internal(nm[i]))
                continue
            t++
            if (defs[nm[i]] < 2)
                plumbing = 0
            if (!(nm[i] in seen)) {
                seen[nm[i]] = 1
                names = names (names == "" ? "" : " ") nm[i]
            }
        }
        # A declaration of internal names only is left out.
        if (ukind[k] != "cond" && t == 0)
            continue
        code = code ucode[k] "\n"
    }
    if (names == "") {
        if (nunits == 0 && gcomment != "")
            item("note", "", gcomment, "", "")
        return
    }
    if (plumbing)
        return
    item("entry", "", gcomment, code, names)
}

function add_unit(kind, text, names) {
    if (!gopen)
        open_group("")
    nunits++
    ukind[nunits] = kind
    ucode[nunits] = text
    unames[nunits] = names
}

# The names a C declaration (comments removed, on one line) declares.
function decl_names(s,    t, names, n, parts, i, p) {
    gsub(/[ \t]+/, " ", s)
    if (s ~ /^ *typedef/) {
        if (match(s, /\( *\* *[A-Za-z_][A-Za-z0-9_]* *\)/)) {
            t = substr(s, RSTART, RLENGTH)
            gsub(/[^A-Za-z0-9_]/, "", t)
            return t
        }
        t = s
        sub(/ *(\[[^]]*\] *)*; *$/, "", t)
        match(t, /[A-Za-z_][A-Za-z0-9_]*$/)
        return substr(t, RSTART, RLENGTH)
    }
    if (s ~ /^ *enum/ && index(s, "{")) {
        names = ""
        t = s
        if (match(t, /^ *enum +[A-Za-z_][A-Za-z0-9_]*/)) {
            p = substr(t, RSTART, RLENGTH)
            sub(/^ *enum +/, "", p)
            names = p
        }
        t = substr(t, index(t, "{") + 1)
        t = substr(t, 1, index(t, "}") - 1)
        n = split(t, parts, ",")
        for (i = 1; i <= n; i++)
            if (match(parts[i], /[A-Za-z_][A-Za-z0-9_]*/))
                names = names (names == "" ? "" : " ") substr(parts[i], RSTART, RLENGTH)
        return names
    }
    if (s ~ /^ *(struct|union) +[A-Za-z_][A-Za-z0-9_]* *\{/) {
        match(s, /^ *(struct|union) +[A-Za-z_][A-Za-z0-9_]*/)
        t = substr(s, RSTART, RLENGTH)
        sub(/^ *(struct|union) +/, "", t)
        return t
    }
    # A function: the first identifier before "(" that is not a macro
    # of attributes (all capitals) or __attribute__.
    t = s
    while (match(t, /[A-Za-z_][A-Za-z0-9_]* *\(/)) {
        p = substr(t, RSTART, RLENGTH)
        sub(/ *\($/, "", p)
        if (p !~ /^[A-Z0-9_]+$/ && p !~ /^__/)
            return p
        t = substr(t, RSTART + RLENGTH)
    }
    # A variable.
    t = s
    sub(/ *(\[[^]]*\] *)*; *$/, "", t)
    if (match(t, /[A-Za-z_][A-Za-z0-9_]*$/))
        return substr(t, RSTART, RLENGTH)
    return ""
}

# A finished #define (all its lines in text).
function add_macro(text,    t, name) {
    t = text
    sub(/^[ \t]*#[ \t]*define[ \t]+/, "", t)
    match(t, /^[A-Za-z_][A-Za-z0-9_]*/)
    name = substr(t, RSTART, RLENGTH)
    t = substr(t, RLENGTH + 1)
    sub(/\/\*.*$/, "", t)
    # An include guard defines a name ending in _H to nothing.
    if (t ~ /^[ \t]*$/ && name ~ /_H$/)
        name = ""
    add_unit("macro", text, name)
}

# A finished declaration.  A function or variable is shown on one line
# without GOC_EXTERN; a struct or enum body as the header writes it.
function add_decl(text, stripped,    shown) {
    if (index(stripped, "{")) {
        shown = text
    } else {
        shown = text
        gsub(/\n/, " ", shown)
        gsub(/[ \t]+/, " ", shown)
        gsub(/GOC_EXTERN /, "", shown)
        sub(/^ /, "", shown)
    }
    add_unit("decl", shown, decl_names(stripped))
}

# A finished comment: SPDX, banner, introduction, or documentation.
function end_comment(    n, lines, i, title, text, t) {
    n = split(ctext, lines, "\n")
    if (lines[1] ~ /^SPDX-License-Identifier/)
        return
    if (lines[1] ~ /^-+$/) {
        close_group()
        title = ""
        text = ""
        for (i = 2; i <= n; i++) {
            if (lines[i] ~ /^-+$/)
                break
            if (title == "") {
                t = lines[i]
                sub(/^ +/, "", t)
                title = t
            } else
                text = text lines[i] "\n"
        }
        item("section", title, text, "", "")
        return
    }
    if (!seen_code) {
        intro = intro (intro == "" ? "" : "\n") ctext
        return
    }
    if (gopen && nunits == 0 && gcomment != "") {
        item("note", "", gcomment, "", "")
        gopen = 0
    }
    close_group()
    open_group(ctext)
}

FNR == 1 {
    if (NR > 1)
        end_file()
    file = FILENAME
    intro = ""
    seen_code = 0
    state = ""
    cstate = 0
    gopen = 0
}

function end_file(    t) {
    close_group()
    # The file item comes first: put it in front of this file s items.
    t = file
    sub(/^include\//, "", t)
    fitems[++nfiles] = t
    fintro[nfiles] = intro
    ffirst[nfiles] = file_first
    flast[nfiles] = nitems
    file_first = nitems + 1
}

BEGIN { file_first = 1 }

# Inside a comment.
state == "comment" {
    ctext = ctext "\n" comment_text($0, 0)
    if (index($0, "*/")) {
        state = ""
        sub(/^\n+/, "", ctext)
        sub(/\n+$/, "", ctext)
        end_comment()
    }
    next
}

# Inside a #define with continuation lines.
state == "macro" {
    mtext = mtext "\n" $0
    if ($0 !~ /\\$/) {
        state = ""
        add_macro(mtext)
    }
    next
}

# Inside an #if or #elif with continuation lines.
state == "cond" {
    mtext = mtext "\n" $0
    if ($0 !~ /\\$/) {
        state = ""
        add_unit("cond", mtext, "")
    }
    next
}

# Inside a declaration.
state == "decl" {
    dtext = dtext "\n" $0
    t = code_only($0)
    dstripped = dstripped " " t
    depth += count(t, "(") + count(t, "{") - count(t, ")") - count(t, "}")
    if (depth <= 0 && !cstate && t ~ /;[ \t]*$/) {
        state = ""
        add_decl(dtext, dstripped)
    }
    next
}

/^[ \t]*\/\*/ {
    ctext = comment_text($0, 1)
    # The text after "/*" on the first line, if any, is the first line.
    if (index(substr($0, index($0, "/*") + 2), "*/")) {
        end_comment()
    } else {
        state = "comment"
    }
    next
}

/^[ \t]*$/ {
    if (gopen && nunits == 0 && gcomment != "") {
        item("note", "", gcomment, "", "")
        gopen = 0
    }
    close_group()
    next
}

{ seen_code = 1 }

/^[ \t]*#[ \t]*include/ { next }
/^[ \t]*extern "C"/ || /^[ \t]*}[ \t]*$/ { next }

/^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)/ {
    mtext = $0
    if ($0 ~ /\\$/)
        state = "cond"
    else
        add_unit("cond", mtext, "")
    next
}

/^[ \t]*#[ \t]*define/ {
    mtext = $0
    if ($0 ~ /\\$/)
        state = "macro"
    else
        add_macro(mtext)
    next
}

/^[ \t]*#/ { next }

{
    cstate = 0
    dtext = $0
    t = code_only($0)
    dstripped = t
    depth = count(t, "(") + count(t, "{") - count(t, ")") - count(t, "}")
    if (depth <= 0 && !cstate && t ~ /;[ \t]*$/)
        add_decl(dtext, dstripped)
    else
        state = "decl"
}

# ---- writing --------------------------------------------------------------

# GitHub s anchor for a heading: lower case, punctuation dropped, spaces
# as hyphens, "-1", "-2", ... after a repeat.
function slug(h,    s, i, c, out) {
    s = tolower(h)
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c ~ /[a-z0-9_-]/)
            out = out c
        else if (c == " ")
            out = out "-"
    }
    if (out in used) {
        used[out]++
        out = out "-" (used[out] - 1)
    } else
        used[out] = 1
    return out
}

function entry_heading(names,    n, nm, i, h) {
    n = split(names, nm, " ")
    h = ""
    for (i = 1; i <= n; i++)
        h = h (i > 1 ? ", " : "") "`" nm[i] "`"
    return h
}

# Markdown escapes for plain text.
function esc(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (index("\\*[]~_", c))
            out = out "\\" c
        else if (c == "<" && substr(s, i + 1, 1) ~ /[A-Za-z\/!?]/)
            out = out "\\<"
        else
            out = out c
    }
    return out
}

# Text outside code spans: identifiers with an underscore as code, those
# of the API as links to their entries (but not to the entry at hand).
function words(s,    out, tok, rest) {
    out = ""
    while (match(s, /[A-Za-z0-9_.\/*-]+/)) {
        out = out esc(substr(s, 1, RSTART - 1))
        tok = substr(s, RSTART, RLENGTH)
        s = substr(s, RSTART + RLENGTH)
        # Punctuation that ends a word is not part of it.
        if (match(tok, /[.\/-]+$/)) {
            s = substr(tok, RSTART) s
            tok = substr(tok, 1, RSTART - 1)
        }
        if (tok == "") {
            out = out esc(substr(s, 1, 1))
            s = substr(s, 2)
        } else if (index(tok, "_") == 0)
            out = out esc(tok)
        else if ((tok in anchor) && !(tok in self))
            out = out "[`" tok "`](#" anchor[tok] ")"
        else
            out = out "`" tok "`"
    }
    return out esc(s)
}

# A line of prose: code spans kept as they are.
function inline(s,    out, i) {
    out = ""
    while ((i = index(s, "`")) > 0) {
        out = out words(substr(s, 1, i - 1))
        s = substr(s, i + 1)
        i = index(s, "`")
        if (i == 0) {
            out = out "\\`"
            break
        }
        out = out "`" substr(s, 1, i)
        s = substr(s, i + 1)
    }
    return out words(s)
}

# A paragraph must not start a list, a heading or a quote.
function para(s) {
    s = bold_labels(inline(s))
    if (s ~ /^[-+#>]/)
        s = "\\" s
    else if (match(s, /^[0-9]+[.)]/))
        s = substr(s, 1, RLENGTH - 1) "\\" substr(s, RLENGTH)
    return s
}

function bold_labels(s,    out) {
    out = ""
    while (match(s, /  (Blocks|Returns|Errors|Fatal):/)) {
        out = out substr(s, 1, RSTART + 1) "**" substr(s, RSTART + 2, RLENGTH - 2) "**"
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

function indent_of(s) {
    match(s, /^ */)
    return RLENGTH
}

# Does s end a sentence?
function ends_sentence(s) {
    return s ~ /[.!?:]["\)]?$/
}

function flush() {
    if (btype == "p")
        printf "%s\n\n", para(btext)
    else if (btype == "code") {
        sub(/\n+$/, "", btext)
        printf "```\n%s\n```\n\n", btext
    } else if (btype == "field") {
        if (nitem == 0)
            printf "**%s** %s\n\n", blabel, bold_labels(inline(btext))
        else {
            printf "**%s**\n", blabel
            for (fi = 1; fi <= nitem; fi++)
                printf "- %s\n", fitem[fi]
            printf "\n"
        }
    }
    btype = ""
    btext = ""
}

# A field item "GOC_EXXX  text": the code set as code.
function list_item(s,    code) {
    if (s !~ /^[^ ]+  /)
        return inline(s)
    match(s, /^[^ ]+/)
    code = substr(s, 1, RLENGTH)
    s = substr(s, RLENGTH + 1)
    sub(/^ +/, "", s)
    if ((code in anchor) && !(code in self))
        return "[`" code "`](#" anchor[code] ") " inline(s)
    return "`" code "` " inline(s)
}

function add_item_text(t) {
    if (nitem == 0)
        btext = btext " " t
    else
        fraw[nitem] = fraw[nitem] " " t
}

# Render a comment s text as Markdown.
function prose(text,    n, lines, i, l, t, ind, j, m) {
    n = split(text, lines, "\n")
    btype = ""
    btext = ""
    for (i = 1; i <= n; i++) {
        l = lines[i]
        t = l
        sub(/^ +/, "", t)
        ind = indent_of(l)
        if (t == "") {
            if (btype == "code") {
                for (j = i + 1; j <= n && lines[j] ~ /^ *$/; j++)
                    ;
                if (j <= n && indent_of(lines[j]) >= 2) {
                    btext = btext "\n"
                    continue
                }
            }
            end_block()
            continue
        }
        if (btype == "code") {
            if (ind >= 2) {
                btext = btext "\n" l
                continue
            }
            end_block()
        }
        if (ind == 0 && match(t, /^(Blocks|Returns|Errors|Fatal):( |$)/)) {
            j = index(t, ":")
            end_block()
            btype = "field"
            blabel = substr(t, 1, j)
            btext = substr(t, j + 1)
            sub(/^ +/, "", btext)
            nitem = 0
            if (btext ~ /^(GOC_E[A-Z0-9_]*|-E[A-Z0-9]+)   */) {
                nitem = 1
                fraw[1] = btext
                btext = ""
            }
            prev = t
            continue
        }
        if (btype == "field") {
            if (ind > 0 || !ends_sentence(prev)) {
                if (nitem > 0 && (t ~ /^(GOC_E[A-Z0-9_]*|-E[A-Z0-9]+)   */ ||
                    (t ~ /^(GOC_E|-E)/ && ends_sentence(prev))))
                    fraw[++nitem] = t
                else
                    add_item_text(t)
                prev = t
                continue
            }
            end_block()
        }
        if (ind >= 2) {
            end_block()
            btype = "code"
            btext = l
            continue
        }
        if (btype == "p")
            btext = btext " " t
        else {
            end_block()
            btype = "p"
            btext = t
        }
        prev = t
    }
    end_block()
}

function end_block(    k) {
    if (btype == "field")
        for (k = 1; k <= nitem; k++)
            fitem[k] = list_item(fraw[k])
    # Code keeps its indentation, less what all its lines have.
    if (btype == "code") {
        m = split(btext, cl, "\n")
        cind = -1
        for (k = 1; k <= m; k++)
            if (cl[k] !~ /^ *$/ && (cind < 0 || indent_of(cl[k]) < cind))
                cind = indent_of(cl[k])
        btext = ""
        for (k = 1; k <= m; k++)
            btext = btext (k > 1 ? "\n" : "") substr(cl[k], cind + 1)
    }
    flush()
}

function set_self(names,    n, nm, i) {
    split("", self)
    n = split(names, nm, " ")
    for (i = 1; i <= n; i++)
        self[nm[i]] = 1
}

function toc_names(names, a,    n, nm, i, out) {
    n = split(names, nm, " ")
    out = ""
    for (i = 1; i <= n; i++)
        out = out (i > 1 ? ", " : "") "[`" nm[i] "`](#" a ")"
    return out
}

END {
    end_file()

    # Anchors: the document s own headings first.
    slug("goc API reference")
    slug("Contents")
    for (f = 1; f <= nfiles; f++) {
        fanchor[f] = slug("`" fitems[f] "`")
        for (i = ffirst[f]; i <= flast[f]; i++) {
            if (ikind[i] == "section")
                ianchor[i] = slug(ititle[i])
            else if (ikind[i] == "entry") {
                ianchor[i] = slug(entry_heading(inames[i]))
                n = split(inames[i], nm, " ")
                for (k = 1; k <= n; k++)
                    if (!(nm[k] in anchor))
                        anchor[nm[k]] = ianchor[i]
            }
        }
    }

    list = ""
    for (f = 1; f <= nfiles; f++)
        list = list (f > 1 ? (f == nfiles ? " and " : ", ") : "") "`include/" fitems[f] "`"
    print "# goc API reference"
    print ""
    print "<!-- Generated by tools/apiref.sh from the public headers: do not edit."
    print "     Run `make apiref` after changing a header. -->"
    print ""
    print "Every public declaration of " list ", in the order the headers"
    print "give them, under their section banners, with the comment that documents it."
    print "The headers are the source of truth: this file is generated from them by"
    print "`make apiref` (tools/apiref.sh), and the test `apiref` fails while it is out"
    print "of date. Declarations are shown as written, without `GOC_EXTERN`."
    print ""
    print "## Contents"
    print ""
    for (f = 1; f <= nfiles; f++) {
        line = "- [`" fitems[f] "`](#" fanchor[f] ")"
        sep = ": "
        for (i = ffirst[f]; i <= flast[f]; i++) {
            if (ikind[i] == "section") {
                print line
                line = "  - [" ititle[i] "](#" ianchor[i] ")"
                sep = ": "
            } else if (ikind[i] == "entry") {
                line = line sep toc_names(inames[i], ianchor[i])
                sep = ", "
            }
        }
        print line
    }
    print ""

    for (f = 1; f <= nfiles; f++) {
        print "## `" fitems[f] "`"
        print ""
        split("", self)
        if (fintro[f] != "")
            prose(fintro[f])
        for (i = ffirst[f]; i <= flast[f]; i++) {
            split("", self)
            if (ikind[i] == "section") {
                print "### " ititle[i]
                print ""
                prose(itext[i])
            } else if (ikind[i] == "note") {
                prose(itext[i])
            } else if (ikind[i] == "entry") {
                print "#### " entry_heading(inames[i])
                print ""
                printf "```c\n%s```\n\n", icode[i]
                set_self(inames[i])
                prose(itext[i])
            }
        }
    }
}
' "$@"
}

if [ "$check" -eq 1 ]; then
    tmp=$(mktemp "${TMPDIR:-/tmp}/goc-apiref.XXXXXX") || exit 1
    trap 'rm -f "$tmp"' EXIT
    generate "$@" >"$tmp" || { echo "apiref: generating failed" >&2; exit 1; }
    if ! cmp -s "$tmp" docs/api.md; then
        echo "apiref: docs/api.md is out of date with the headers: run \`make apiref\` and commit it" >&2
        diff -u docs/api.md "$tmp" | sed -n '1,40p' >&2
        exit 1
    fi
    echo "apiref: docs/api.md is up to date"
    exit 0
fi
if [ "$out" = - ]; then
    generate "$@"
else
    tmp=$out.tmp.$$
    trap 'rm -f "$tmp"' EXIT
    generate "$@" >"$tmp" && mv "$tmp" "$out" || exit 1
    echo "apiref: wrote $out"
fi
