#!/bin/sh
# Install a Vulkan driver that LiteRT's GPU accelerator (ML Drift over WebGPU, Dawn) accepts:
# Mesa's software driver lavapipe, Mesa 25 or newer, with the Vulkan loader and vulkaninfo.
# Mesa 22 (Debian 12's own) is refused by Dawn ("Vulkan shaderUniform*ArrayDynamicIndexing
# required"); where the release's own Mesa is too old, the packages come from
# <codename>-backports, a source derived from this system's own apt sources (same URIs,
# components and key as the entry for the release), so no host is named here.
#
# Idempotent: exits at once when a new enough driver is installed, and reuses a backports
# source that is already configured. Needs root (apt-get). Used by the README's test command.
set -eu

MIN_MESA_MAJOR=25
PACKAGES="mesa-vulkan-drivers libvulkan1 vulkan-tools"
SOURCES_DIR=/etc/apt/sources.list.d

major() { # "1:25.0.7-2~bpo12+1" -> 25
    printf '%s\n' "$1" | sed -e 's/^[0-9]*://' -e 's/[^0-9].*//'
}

installed_major() {
    version=$(dpkg-query -W -f='${Status} ${Version}\n' mesa-vulkan-drivers 2>/dev/null |
        awk '$3 == "installed" { print $4 }')
    major "${version:-0}"
}

all_installed() {
    for package in $PACKAGES; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q ' installed$' || return 1
    done
}

if all_installed && [ "$(installed_major)" -ge "$MIN_MESA_MAJOR" ]; then
    echo "install_vulkan: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) is installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_vulkan: no apt-get here; install Mesa >= $MIN_MESA_MAJOR's Vulkan driver (lavapipe) and the Vulkan loader with your package manager" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_vulkan: needs root for apt-get (run it with sudo)" >&2
    exit 1
fi

codename=$( . /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
if [ -z "$codename" ]; then
    echo "install_vulkan: /etc/os-release names no VERSION_CODENAME" >&2
    exit 1
fi
backports="$codename-backports"

export DEBIAN_FRONTEND=noninteractive
apt-get update

candidate_major() {
    major "$(apt-cache policy mesa-vulkan-drivers | awk '/Candidate:/ { print $2; exit }' | sed 's/(none)/0/')"
}

# Whether an enabled apt source (deb822 or one-line) already has the backports suite.
backports_configured() {
    for file in /etc/apt/sources.list "$SOURCES_DIR"/*.list "$SOURCES_DIR"/*.sources; do
        [ -f "$file" ] || continue
        case "$file" in
        *.sources)
            awk -v suite="$backports" '
                BEGIN { RS = ""; FS = "\n"; found = 0 }
                {
                    enabled = 1; has = 0
                    for (i = 1; i <= NF; i++) {
                        if ($i ~ /^[ \t]*#/) continue
                        if (tolower($i) ~ /^enabled:[ \t]*no/) enabled = 0
                        if ($i ~ /^Suites:/) { n = split(substr($i, 8), s, /[ \t]+/); for (j = 1; j <= n; j++) if (s[j] == suite) has = 1 }
                    }
                    if (enabled && has) found = 1
                }
                END { exit found ? 0 : 1 }' "$file" && return 0 ;;
        *)
            awk -v suite="$backports" '
                /^[ \t]*deb[ \t]/ { sub(/\[[^]]*\][ \t]*/, ""); if ($3 == suite) found = 1 }
                END { exit found ? 0 : 1 }' "$file" && return 0 ;;
        esac
    done
    return 1
}

# Write a backports source from the enabled "deb" entry whose suites include the release.
add_backports() {
    for file in "$SOURCES_DIR"/*.sources; do
        [ -f "$file" ] || continue
        stanza=$(awk -v release="$codename" '
            function keep(name, value) { if (name != "") field[tolower(name)] = value }
            BEGIN { RS = ""; FS = "\n" }
            {
                delete field; name = ""; value = ""
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^#/) continue
                    if (line ~ /^[ \t]/) { value = value "\n" line; continue }  # a continuation line (an inline key)
                    keep(name, value)
                    name = substr(line, 1, index(line, ":") - 1); value = line
                }
                keep(name, value)
                deb = has = 0
                n = split(field["types"], t, /[ \t]+/); for (j = 1; j <= n; j++) if (t[j] == "deb") deb = 1
                n = split(field["suites"], s, /[ \t]+/); for (j = 1; j <= n; j++) if (s[j] == release) has = 1
                if (tolower(field["enabled"]) ~ /:[ \t]*no/ || !deb || !has || field["uris"] == "") next
                print "Types: deb"; print field["uris"]; print "Suites: " release "-backports"
                print (field["components"] != "" ? field["components"] : "Components: main")
                if (field["signed-by"] != "") print field["signed-by"]
                exit
            }' "$file")
        if [ -n "$stanza" ]; then
            printf '# Derived by .ci/install_vulkan.sh from %s\n%s\n' "$file" "$stanza" >"$SOURCES_DIR/$backports.sources"
            echo "install_vulkan: added $SOURCES_DIR/$backports.sources (from $file)"
            return 0
        fi
    done
    for file in /etc/apt/sources.list "$SOURCES_DIR"/*.list; do
        [ -f "$file" ] || continue
        line=$(awk -v release="$codename" '
            /^[ \t]*deb[ \t]/ {
                options = ""
                if (match($0, /\[[^]]*\]/)) { options = substr($0, RSTART, RLENGTH) " "; sub(/\[[^]]*\][ \t]*/, "") }
                if ($3 == release) {
                    rest = ""; for (i = 4; i <= NF; i++) rest = rest " " $i
                    print "deb " options $2 " " release "-backports" rest; exit
                }
            }' "$file")
        if [ -n "$line" ]; then
            printf '# Derived by .ci/install_vulkan.sh from %s\n%s\n' "$file" "$line" >"$SOURCES_DIR/$backports.list"
            echo "install_vulkan: added $SOURCES_DIR/$backports.list (from $file)"
            return 0
        fi
    done
    echo "install_vulkan: no enabled apt source for '$codename' to derive $backports from" >&2
    return 1
}

target=""
if [ "$(candidate_major)" -lt "$MIN_MESA_MAJOR" ]; then
    if ! backports_configured; then
        add_backports
        apt-get update
    fi
    target="-t $backports"
fi
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $target $PACKAGES

if [ "$(installed_major)" -lt "$MIN_MESA_MAJOR" ]; then
    echo "install_vulkan: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) is older than $MIN_MESA_MAJOR; LiteRT's GPU accelerator will refuse it" >&2
    exit 1
fi
echo "install_vulkan: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) installed"
