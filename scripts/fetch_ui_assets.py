"""Make Solara's offline asset cache complete for the SolaraViz page.

Solara serves `/_solara/cdn/PKG@VER/FILE` from its proxy cache directory and only falls back
to the public CDN for files missing there. These machines have no internet, so a missing file
becomes a failed request and a page error. `solara-assets` fills most of the cache; this script
adds, from the npm registry (`npm pack`), every package the page asks for that is still missing.
Idempotent: a package whose marker file is present is left alone.

Run with the project's venv python: `.venv/bin/python scripts/fetch_ui_assets.py`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# Cache folder (as the page names it in its URL) -> (npm spec, a file the page loads from it).
# The marker's presence means the package is in place. The names are those solara 1.58.2
# asks for: check them again when the solara pin moves.
PACKAGES = {
    # Not in solara-assets 1.58.2. Markdown math (CSS + auto-render), wherever a page has Markdown.
    "katex@0.16.9": ("katex@0.16.9", "dist/contrib/auto-render.min.js"),
    # Not in solara-assets either: solara's Altair/Vega-Lite widget asks for floating major
    # versions (vega@5, ...), which the CDN would resolve to the newest release of that major.
    # Pinned here to those releases so every machine gets the same files.
    "vega@5": ("vega@5.33.1", "build/vega.min.js"),
    "vega-lite@5": ("vega-lite@5.23.0", "build/vega-lite.min.js"),
    "vega-embed@6": ("vega-embed@6.29.0", "build/vega-embed.min.js"),
    # Shipped by solara-assets; listed so a mismatched or missing solara-assets still works.
    "@widgetti/solara-vuetify-app@10.1.1": (
        "@widgetti/solara-vuetify-app@10.1.1",
        "dist/fonts.css",
    ),
    "@widgetti/vue-grid-layout@2.3.13-alpha.2": (
        "@widgetti/vue-grid-layout@2.3.13-alpha.2",
        "dist/vue-grid-layout.umd.min.js",
    ),
    "requirejs@2.3.6": ("requirejs@2.3.6", "require.js"),
    "font-awesome@4.5.0": ("font-awesome@4.5.0", "css/font-awesome.min.css"),
}


def say(msg: str) -> None:
    print(f"fetch_ui_assets: {msg}", flush=True)


def cache_dir() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def npm_unpack(spec: str, dest: Path) -> None:
    """`npm pack SPEC` and unpack its `package/` tree into DEST (atomically)."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(f"fetch_ui_assets: ERROR: npm is needed to fetch {spec}: apt-get install -y npm")
    with tempfile.TemporaryDirectory(prefix="ui-assets-") as tmp:
        tmp_path = Path(tmp)
        subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", tmp],
            check=True,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = tmp_path.glob("*.tgz")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp_path / "x", filter="data")
        (root,) = (tmp_path / "x").iterdir()  # npm tarballs hold one top folder, "package/"
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.move(str(root), staging)
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)


def main() -> int:
    cache = cache_dir()
    missing = {name: pkg for name, pkg in PACKAGES.items() if not (cache / name / pkg[1]).is_file()}
    if not missing:
        say(f"complete ({len(PACKAGES)} packages in {cache})")
        return 0
    for name, (spec, marker) in missing.items():
        say(f"npm pack {spec} -> {cache / name}")
        npm_unpack(spec, cache / name)
        if not (cache / name / marker).is_file():
            sys.exit(f"fetch_ui_assets: ERROR: {spec} has no {marker} after unpacking")
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
