#!/usr/bin/env bash
# Download the released STEVE-1 / VPT / MineCLIP files into data/ (the original repository's layout).
#
#   ./download_weights.sh                 # agent + training files (what the original script fetches)
#   ./download_weights.sh agent idm       # only some groups
#   ./download_weights.sh --list          # print the groups, files and their URLs
#
# Groups:  agent  2x.model, steve1.weights, MineCLIP attn.pth, steve1_prior.pt, visual prompt embeds
#          train  rl-from-foundation-2x.weights (fine-tuning start), prior dataset data.pkl
#          idm    VPT inverse dynamics model 4x_idm.model / 4x_idm.weights
#          vpt    the other VPT models (1x/3x configs, foundation, BC and RL weights) for mixed-agent data
#
# Every download resumes where it stopped (curl -C -) into a .part file that is renamed only when complete.
# MineCLIP's md5 is published and checked. For the other files (no published checksums) the md5 of the first
# complete download is recorded in data/weights/checksums.md5 and every later run verifies it.
# Environment: STEVE1_DATA_DIR (default data), STEVE1_VPT_URL, STEVE1_GDRIVE_URL (URL templates, for mirrors).
set -euo pipefail

DATA_DIR=${STEVE1_DATA_DIR:-data}
VPT_URL=${STEVE1_VPT_URL:-https://openaipublic.blob.core.windows.net/minecraft-rl}
# {id} is replaced by the Google Drive file id.
GDRIVE_URL=${STEVE1_GDRIVE_URL:-https://drive.usercontent.google.com/download?id=\{id\}&export=download&confirm=t}
MINECLIP_MD5=b5ece9198337cfd117a3bfbd921e56da
RECORD="$DATA_DIR/weights/checksums.md5"

# group | destination (relative to DATA_DIR) | source: vpt:<path> or gdrive:<id> | known md5 (or -)
FILES="
agent|weights/vpt/2x.model|vpt:models/2x.model|-
agent|weights/steve1/steve1.weights|gdrive:1E3fd_-H1rRZqMkUKHfiMhx-ppLLehQPI|-
agent|weights/mineclip/attn.pth|gdrive:1uaZM1ZLBz2dZWcn85rZmjP7LV6Sg5PZW|$MINECLIP_MD5
agent|weights/steve1/steve1_prior.pt|gdrive:1OdX5wiybK8jALVfP5_dEo0CWm9BQbDES|-
agent|visual_prompt_embeds.zip|gdrive:1K--DOHMDKjtklTK6SbpH11wrI2j_61mu|-
train|weights/vpt/rl-from-foundation-2x.weights|vpt:models/rl-from-foundation-2x.weights|-
train|prior_dataset/data.pkl|gdrive:18JKzIwHmFBrAjfiRNobtwkN7zhwQc7IO|-
idm|weights/vpt/4x_idm.model|vpt:idm/4x_idm.model|-
idm|weights/vpt/4x_idm.weights|vpt:idm/4x_idm.weights|-
vpt|weights/vpt/foundation-model-1x.model|vpt:models/foundation-model-1x.model|-
vpt|weights/vpt/foundation-model-3x.model|vpt:models/foundation-model-3x.model|-
vpt|weights/vpt/foundation-model-1x.weights|vpt:models/foundation-model-1x.weights|-
vpt|weights/vpt/foundation-model-2x.weights|vpt:models/foundation-model-2x.weights|-
vpt|weights/vpt/foundation-model-3x.weights|vpt:models/foundation-model-3x.weights|-
vpt|weights/vpt/bc-early-game-2x.weights|vpt:models/bc-early-game-2x.weights|-
vpt|weights/vpt/bc-house-3x.weights|vpt:models/bc-house-3x.weights|-
vpt|weights/vpt/rl-from-house-2x.weights|vpt:models/rl-from-house-2x.weights|-
vpt|weights/vpt/rl-from-early-game-2x.weights|vpt:models/rl-from-early-game-2x.weights|-
"

die() { echo "download_weights.sh: error: $*" >&2; exit 1; }

md5_of() { md5sum "$1" | cut -d' ' -f1; }

recorded_md5() {  # the md5 recorded for a destination, if any
    [ -f "$RECORD" ] || return 0
    awk -v f="$1" '$2 == f {print $1}' "$RECORD" | tail -n 1
}

record_md5() {
    mkdir -p "$(dirname "$RECORD")"
    { [ -f "$RECORD" ] && awk -v f="$1" '$2 != f' "$RECORD"; echo "$2 $1"; } > "$RECORD.tmp"
    mv "$RECORD.tmp" "$RECORD"
}

source_url() {
    case "$1" in
        vpt:*) echo "$VPT_URL/${1#vpt:}" ;;
        gdrive:*) echo "${GDRIVE_URL//\{id\}/${1#gdrive:}}" ;;
        *) die "unknown source $1" ;;
    esac
}

verify() {  # verify a complete file against the known or recorded md5; record it the first time
    local rel=$1 known=$2 path="$DATA_DIR/$1" actual expected
    actual=$(md5_of "$path")
    expected=$known
    [ "$expected" = "-" ] && expected=$(recorded_md5 "$rel")
    if [ -z "$expected" ]; then
        record_md5 "$rel" "$actual"
        echo "  recorded md5 $actual (later runs verify it)"
    elif [ "$actual" != "$expected" ]; then
        die "$path has md5 $actual but $expected was expected: the file is corrupt or not the released one.
       Delete it and run this script again to re-download it."
    else
        echo "  md5 ok ($actual)"
    fi
}

download() {
    local rel=$1 src=$2 known=$3 path="$DATA_DIR/$1" url
    url=$(source_url "$src")
    if [ -f "$path" ]; then
        echo "$rel: present"
        verify "$rel" "$known"
        return
    fi
    mkdir -p "$(dirname "$path")"
    echo "$rel: downloading from $url"
    if ! curl -fL --retry 5 --retry-delay 3 -C - --progress-bar -o "$path.part" "$url"; then
        die "could not download $rel from $url (a partial file is kept in $path.part and resumed next time).
       Check the network, or download it by hand to $path."
    fi
    if head -c 512 "$path.part" | grep -qi '<html'; then
        mv "$path.part" "$path.html"
        die "$url returned a web page instead of $rel (Google Drive quota or consent page, saved in $path.html).
       Download the file in a browser to $path, then run this script again to verify it."
    fi
    mv "$path.part" "$path"
    verify "$rel" "$known"
}

unpack_visual_prompts() {
    local zip="$DATA_DIR/visual_prompt_embeds.zip"
    [ -f "$zip" ] || return 0
    if [ ! -d "$DATA_DIR/visual_prompt_embeds" ]; then
        python3 - "$zip" "$DATA_DIR" <<'PY' || die "could not unzip $zip; delete it and run this script again"
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
        echo "visual_prompt_embeds: unpacked into $DATA_DIR/visual_prompt_embeds"
    fi
}

groups=()
for arg in "$@"; do
    case "$arg" in
        --list)
            while IFS='|' read -r group rel src _; do
                [ -n "$group" ] && printf '%-6s %-45s %s\n' "$group" "$DATA_DIR/$rel" "$(source_url "$src")"
            done <<< "$FILES"
            exit 0 ;;
        -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        agent|train|idm|vpt) groups+=("$arg") ;;
        all) groups+=(agent train idm vpt) ;;
        *) die "unknown group '$arg' (choose from: agent train idm vpt all; --list shows the files)" ;;
    esac
done
[ ${#groups[@]} -gt 0 ] || groups=(agent train)
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

while IFS='|' read -r group rel src known; do
    [ -n "$group" ] || continue
    for wanted in "${groups[@]}"; do
        if [ "$group" = "$wanted" ]; then download "$rel" "$src" "$known"; fi
    done
done <<< "$FILES"
unpack_visual_prompts
echo "done: files are under $DATA_DIR/"
