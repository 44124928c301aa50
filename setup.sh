#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for this toolkit: Deno (from npm), Mesa's
# software Vulkan driver when no Vulkan WebGPU adapter is found, Chromium's headless shell (for the
# web page's tests), Slurm and munge (the job-array test), and Fashion-MNIST (Debian's
# dataset-fashion-mnist), the default data set. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_install() {
  if [ "$updated" -eq 0 ]; then $SUDO apt-get update -qq; updated=1; fi
  $SUDO apt-get install -y -qq "$@"
}
if ! command -v deno >/dev/null 2>&1; then
  echo "setup: installing Deno from npm" >&2
  $SUDO npm install -g deno@2 >/dev/null
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if ! DENO_WEBGPU_BACKEND=vulkan deno run -A tasks/info.ts >/dev/null 2>&1; then
  echo "setup: no Vulkan WebGPU adapter: installing mesa-vulkan-drivers" >&2
  apt_install mesa-vulkan-drivers >/dev/null
fi
# The browser the web page's tests drive (tests/web/); they are skipped, not failed, without it.
if ! command -v chromium-headless-shell >/dev/null 2>&1 && [ -z "${CHROME_PATH:-}" ]; then
  echo "setup: installing chromium-headless-shell (browser tests of the web page)" >&2
  apt_install chromium-headless-shell >/dev/null || echo "setup: chromium-headless-shell could not be installed: the browser tests will be skipped" >&2
fi
# Slurm on one node, for the job-array test of deno task compare (tests/train/study_run_test.ts starts
# its own munged, slurmctld and slurmd); skipped, not failed, without it.
if ! command -v sbatch >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "setup: installing slurmctld, slurmd, slurm-client and munge (the job-array test)" >&2
  apt_install slurmctld slurmd slurm-client munge >/dev/null || echo "setup: Slurm could not be installed: its test will be skipped" >&2
fi
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "setup: installing dataset-fashion-mnist" >&2
  apt_install dataset-fashion-mnist >/dev/null
fi
