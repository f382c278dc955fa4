#!/bin/sh
# Installs Debian's King James Bible (public domain) and writes it as one plain-text corpus file for the recovery
# bench: <work folder>/data/kjv.txt, one verse per line, without the verse references ("Ge1:1 ").
# bible-kjv-text holds the compressed text; bible-kjv holds `bible`, the only program that reads it.
# Usage: bench/Afm.Bench.Recovery/setup.sh [work folder]   (default ${XDG_CACHE_HOME:-~/.cache}/afm-bench-recovery, as the bench; run as root or with sudo)
set -eu
work="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/afm-bench-recovery}"
if ! command -v bible >/dev/null 2>&1; then
    # A fresh machine (or container) may have no package lists yet: apt-get then cannot locate the packages at all.
    apt-get install -y bible-kjv-text bible-kjv || { apt-get update && apt-get install -y bible-kjv-text bible-kjv; }
fi
mkdir -p "$work/data"
# -f -l<wide>: one verse per line ("Ge1:1 In the beginning ..."); stdin closed, or `bible` waits for commands.
bible -f -l1000000 "Gen1:1-Rev22:21" </dev/null | sed -E 's/^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ //' > "$work/data/kjv.txt.tmp"
mv "$work/data/kjv.txt.tmp" "$work/data/kjv.txt"
echo "$work/data/kjv.txt: $(wc -l < "$work/data/kjv.txt") verses, $(wc -c < "$work/data/kjv.txt") bytes"
