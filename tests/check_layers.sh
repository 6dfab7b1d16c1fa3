#!/bin/sh
# Checks the layer order of docs/architecture.md: every `#include "X/..."` in src/<layer>/
# (subfolders included: src/vfs/s3 is vfs) must name a layer at or before its own, or a
# public header (radi/...). The CLI may include only public headers and its own
# (cli/... or a bare name of a file in src/cli). Prints each violation; exit 1 if any.
# Usage: check_layers.sh [source root]   (registered with CTest as check_layers)
root=${1:-$(dirname "$0")/..}
layers="core vfs ctx filters query tdb io model cli"
status=0
rank() { # position of a layer in the order, or nothing
    i=0
    for l in $layers; do
        i=$((i + 1))
        [ "$l" = "$1" ] && { echo $i; return; }
    done
}
# A folder of src/ outside the order would go unchecked: it must be placed first.
for d in "$root"/src/*/; do
    name=$(basename "$d")
    if [ -z "$(rank "$name")" ]; then
        echo "src/$name: not a layer; add it to the order in docs/architecture.md and here"
        status=1
    fi
done
for layer in $layers; do
    [ -d "$root/src/$layer" ] || continue
    own=$(rank "$layer")
    # file:line:#include "target"
    find "$root/src/$layer" -name '*.[ch]' | sort | xargs grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' |
    while IFS= read -r hit; do
        target=$(printf '%s\n' "$hit" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
        where=$(printf '%s\n' "$hit" | cut -d: -f1-2 | sed "s|^$root/||")
        case "$target" in
        radi/*) continue ;;
        */*) dep=${target%%/*} ;;
        *)  # a bare name: only the CLI uses those, for its own headers
            if [ "$layer" = cli ] && [ -f "$root/src/cli/$target" ]; then continue; fi
            echo "$where: includes \"$target\" (give the layer folder: \"$layer/$target\")"
            echo x >&3
            continue ;;
        esac
        if [ "$layer" = cli ]; then
            [ "$dep" = cli ] && continue
            echo "$where: the CLI includes \"$target\"; it may use only the public headers (radi/...)"
            echo x >&3
            continue
        fi
        r=$(rank "$dep")
        if [ -z "$r" ]; then
            echo "$where: includes \"$target\" from \"$dep\", which is not a layer ($layers)"
            echo x >&3
        elif [ "$r" -gt "$own" ]; then
            echo "$where: layer $layer includes \"$target\" from the later layer $dep (order: $layers)"
            echo x >&3
        fi
    done 3>>"${TMPDIR:-/tmp}/radi_layers.$$"
done
[ -s "${TMPDIR:-/tmp}/radi_layers.$$" ] && status=1
rm -f "${TMPDIR:-/tmp}/radi_layers.$$"
[ $status -eq 0 ] && echo "layers ok: $layers"
exit $status
