#!/usr/bin/env bash
# Get a pneumonia prediction from a running detector with curl alone: an Open Inference Protocol
# v2 client that is not shipsafe code. The image is val image INDEX of the PneumoniaMNIST copy in
# data/pneumoniamnist, cut out of the .npz with unzip and od.
#
#   bench/detector/oip_curl.sh [BASE_URL] [INDEX]
#   BASE_URL defaults to http://127.0.0.1:8080, INDEX to 0.
set -euo pipefail
base="${1:-http://127.0.0.1:8080}"
index="${2:-0}"
here="$(cd "$(dirname "$0")" && pwd)"
npz="$here/../../data/pneumoniamnist/pneumoniamnist_trainval.npz"
model="pneumonia-detector"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unzip -p "$npz" val_images.npy > "$tmp/val_images.npy"
unzip -p "$npz" val_labels.npy > "$tmp/val_labels.npy"
# .npy v1: 6-byte magic, 2 version bytes, little-endian uint16 header length, header, raw uint8 data.
hdr() { echo $((10 + $(od -An -tu2 -j8 -N2 "$1" | tr -d ' '))); }
pixels="$(od -An -tu1 -v -j $(($(hdr "$tmp/val_images.npy") + index * 784)) -N 784 "$tmp/val_images.npy" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')"
label="$(od -An -tu1 -j $(($(hdr "$tmp/val_labels.npy") + index)) -N 1 "$tmp/val_labels.npy" | tr -d ' ')"

echo "# server metadata"
curl -fsS "$base/v2"
echo
echo "# readiness"
curl -fsS "$base/v2/health/ready"
echo
echo "# model metadata (first 300 bytes)"
curl -fsS "$base/v2/models/$model" | head -c 300
echo
echo "# infer: val image $index, ground truth label $label"
cat > "$tmp/body.json" <<JSON
{"id": "curl-$index", "inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 28, 28], "data": [$pixels]}]}
JSON
curl -fsS -H 'Content-Type: application/json' --data-binary "@$tmp/body.json" "$base/v2/models/$model/infer"
echo
