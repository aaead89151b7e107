"""A headless Chromium loads the whole report and a small probe script reads what it shows:
every image decoded, the styles applied, and a known table cell present. Three damaged copies
of the page (one broken figure, the CSS removed, the cell removed) prove each check can fail.

The probe runs in the page after its load event and writes its findings into the DOM, which
Chromium's own ``--dump-dom`` then prints: no pixels are judged. Without Chromium the test fails
under CI (CI=true; `.ci/run` installs Debian's `chromium`) and is skipped elsewhere with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.reporting import build_report
from synthetic_results import write_synthetic_results

# The reproduction table's cell for the Drujba slope: the synthetic runs fit w = 1930, 1931, 1932,
# so the mean is 1931, s = 1, and the article's single fit is judged against the 95% prediction
# interval for one run: 1931 -+ t(0.975, 2) * 1 * sqrt(1 + 1/3) = 1931 -+ 4.97 -> 1926, 1936.
KNOWN_CELL = "1931 [95% PI, one run 1926, 1936] (n=3)"
TH_BACKGROUND = "rgb(238, 242, 247)"  # the page's CSS: th{background:#eef2f7}
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const th = document.querySelector("th");
  const found = {
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    th_background: th ? getComputedStyle(th).backgroundColor : null,
    cells: [...document.querySelectorAll("td")].map(td => td.textContent),
  };
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    """Path of the Chromium binary, or fail (CI) / skip (elsewhere) saying why."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    reason = "chromium is not installed (apt-get install chromium; .ci/run does this)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def probe(binary: str, page: Path, profile: Path) -> dict:
    """Load ``page`` with the probe appended and return what the probe found."""
    probed = page.with_name(page.stem + "-probed.html")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", probed.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the probe did not run (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def problems(found: dict) -> list[str]:
    """What is wrong with a loaded page: broken images, missing styles, the known cell missing."""
    wrong = []
    if found["images"] == 0 or found["broken"]:
        wrong.append(f"images: {found['images']} on the page, not loaded: {found['broken']}")
    if found["th_background"] != TH_BACKGROUND:
        wrong.append(f"styles: table headers have background {found['th_background']}, not {TH_BACKGROUND}")
    if KNOWN_CELL not in found["cells"]:
        wrong.append(f"cell: no table cell reads {KNOWN_CELL!r}")
    return wrong


def _damaged(html: str) -> dict[str, str]:
    """One copy of the page per check, each with only that check's part broken."""
    broken_image, n = re.subn(r'src="data:image/png;base64,[^"]{100}', 'src="data:image/png;base64,AAAA', html, count=1)
    no_style, m = re.subn(r"<style>.*?</style>", "", html, flags=re.S)
    no_cell = html.replace(f"<td>{KNOWN_CELL}</td>", "<td></td>")
    assert n == 1 and m == 1 and no_cell != html, "the page no longer has what the damaged copies break"
    return {"images": broken_image, "styles": no_style, "cell": no_cell}


def test_chromium_loads_every_figure_the_styles_and_a_known_cell(tmp_path: Path) -> None:
    binary = chromium()
    write_synthetic_results(tmp_path / "results")
    index = build_report([tmp_path / "results"])
    pages = {"intact": index}
    for check, html in _damaged(index.read_text(encoding="utf-8")).items():
        pages[check] = index.with_name(f"damaged-{check}.html")
        pages[check].write_text(html, encoding="utf-8")
    with ThreadPoolExecutor(max_workers=len(pages)) as pool:  # one browser per page, side by side
        futures = {name: pool.submit(probe, binary, page, tmp_path / f"profile-{name}") for name, page in pages.items()}
        found = {name: future.result() for name, future in futures.items()}
    assert problems(found["intact"]) == []
    assert found["intact"]["images"] == index.read_text(encoding="utf-8").count("<img ")
    for check in ("images", "styles", "cell"):  # negative controls: each damage fails its own check only
        wrong = problems(found[check])
        assert [line.split(":")[0] for line in wrong] == [check], wrong
