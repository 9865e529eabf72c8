#!/usr/bin/env bash
# Builds the Kubernetes e2e test cluster from source (no downloaded binaries): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok, plus kwok's stage files, into a cache directory
# keyed by the pinned versions. Idempotent: when the key's directory is complete it returns at once;
# otherwise `go build` reuses Go's build cache, so only what changed is compiled.
#
#   build.sh           build if needed; print the bin directory on stdout (progress on stderr)
#   build.sh --check   print the bin directory if it is complete, else exit 1 (never builds)
#
#   K8S_TESTENV_CACHE  root of the cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/shipsafe-k8s)
#   K8S_TESTENV_P      go build -p (default 2; lower it when memory is short)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${K8S_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shipsafe-k8s}"
par="${K8S_TESTENV_P:-2}"

kver="v1.37.2"
kldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
# recipe changes whenever this script changes what it builds or how (flags, stage files).
recipe="2 $kldflags stages=node/fast,node/heartbeat,pod/fast"

# The key covers everything that decides the output: the three modules' pins, the recipe and Go.
key="$( { cat "$here"/{kube,etcd,kwok}/go.{mod,sum} "$here"/etcd/main.go; echo "$recipe"; go version; } | sha256sum | cut -c1-16)"
dir="$root/$key"
bin="$dir/bin"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

complete() {
	[[ -f "$dir/.complete" ]] || return 1
	for b in "${bins[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
	[[ -d "$dir/stages" ]]
}

if complete; then
	echo "$bin"
	exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
	echo "k8s-testenv: not built for key $key under $root (run $here/build.sh)" >&2
	exit 1
fi

mkdir -p "$bin" "$dir/stages"
start=$(date +%s)
log() { echo "k8s-testenv: $*  (+$(( $(date +%s) - start ))s)" >&2; }

# -s -w: no symbol tables, smaller binaries and faster links. The version stamp is what discovery
# reports (the default would be v0.0.0-master, which some clients refuse).
log "building etcd"
(cd "$here/etcd" && go build -p "$par" -ldflags "-s -w" -o "$bin/etcd" .)
log "building kwok"
(cd "$here/kwok" && go build -p "$par" -ldflags "-s -w" -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
for c in kube-apiserver kube-controller-manager kube-scheduler; do
	log "building $c"
	(cd "$here/kube" && go build -p "$par" -ldflags "$kldflags" -o "$bin/$c" "k8s.io/kubernetes/cmd/$c")
done

# kwok refuses to start without stages: nodes become Ready and keep a heartbeat, pods go Running/Ready.
kwokdir="$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
for s in node/fast node/heartbeat pod/fast; do
	for f in "$kwokdir/kustomize/stage/$s"/*.yaml; do
		[[ "$(basename "$f")" == kustomization.yaml ]] && continue
		cp "$f" "$dir/stages/${s//\//-}-$(basename "$f")"
	done
done
chmod -R u+w "$dir/stages"
touch "$dir/.complete"
log "done: $bin"
echo "$bin"
