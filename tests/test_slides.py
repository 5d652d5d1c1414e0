"""Slides: RISE metadata in the instructor notebooks, ``make slides``, and the slideshow in Chromium."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from scripts import slide_metadata
from tools import slides

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "artifacts" / "screenshots" / "slides"

#: The title slide as drawn: its heading's text, case transform and top, and its code cells.
_TITLE_SLIDE = """() => { const s = [...document.querySelectorAll('.reveal section.present')].pop();  // a stack's shown slide
  const h = s.querySelector('h1');
  const visible = [...s.querySelectorAll('.jp-CodeCell')].filter(c => c.offsetParent && c.getBoundingClientRect().height);
  return {text: h.textContent, transform: getComputedStyle(h).textTransform,
          top: h.getBoundingClientRect().top, height: window.innerHeight, code: visible.length}; }"""


def _types(stem):
    nb = nbformat.read(REPO / "solutions" / f"{stem}.ipynb", 4)
    return nb, [(c.metadata["slideshow"]["slide_type"], c) for c in nb.cells]


def test_every_instructor_notebook_has_up_to_date_slide_metadata():
    assert slide_metadata.main(["--check"]) == 0
    nb, types = _types("05_performance")
    assert nb.metadata["rise"]["scroll"] is True
    assert types[0][0] == "slide" and types[0][1].source.startswith("# 05.")
    assert all(t == "skip" for t, c in types if "instructor" in c.metadata.get("tags", []))
    assert all(t == "slide" for t, c in types if c.source.startswith("## "))
    code = [(t, c) for t, c in types if c.cell_type == "code" and "instructor" not in c.metadata.get("tags", [])]
    # The setup cell (imports) is a slide of its own under the title; other code stays on its slide.
    assert code[0][0] == "subslide" and code[0][1].source.startswith("from microlab import")
    assert all(t == "-" for t, _ in code[1:])
    assert nb.metadata["rise"]["center"] is False and nb.metadata["rise"]["theme"] == "white"
    assert types[-1][0] == "skip" and "Previous:" in types[-1][1].source   # the navigation line
    assert sum(t == "subslide" for t, _ in types) >= 5


def test_make_slides_serves_the_repository_with_a_token_and_opens_the_slideshow():
    out = subprocess.run([sys.executable, "-m", "tools.slides", "05_performance", "--dry-run"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    command, url = out.stdout.strip().splitlines()
    assert "--ServerApp.default_url=/rise/solutions/05_performance.ipynb" in command
    assert "--ServerApp.token=" not in command and "--ip=127.0.0.1" in command
    assert url.startswith("http://127.0.0.1:8890/rise/solutions/05_performance.ipynb?token=") and len(url) > 80
    assert slides.choose_notebook() == REPO / "solutions" / "01_two_ways.ipynb"
    with pytest.raises(FileNotFoundError, match="one of: 00_start_here"):
        slides.choose_notebook("nope")


def test_rise_shows_a_chapter_as_slides_offline(pytestconfig):
    from tools.browser import JupyterLab, block_network, chromium, require_chromium, wait_for

    path = require_chromium(pytestconfig)
    SHOTS.mkdir(parents=True, exist_ok=True)
    nb, types = _types("00_start_here")
    expected = sum(t == "slide" for t, _ in types)
    with JupyterLab(REPO) as lab, chromium(path) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        blocked = block_network(context)
        page = context.new_page()
        page.goto(lab.url("rise/solutions/00_start_here.ipynb"), timeout=120_000)
        count = wait_for(page, "() => document.querySelectorAll('.reveal .slides > section').length",
                         timeout=120, what="RISE's slides")
        assert count == expected
        # The slides are drawn before reveal.js listens to the keyboard: wait until it says it is ready.
        wait_for(page, "() => !!document.querySelector('.reveal.ready')", timeout=60, what="reveal.js ready")
        title = page.evaluate(_TITLE_SLIDE)
        page.screenshot(path=str(SHOTS / "slides-00_start_here-title.png"))
        assert title["text"].startswith("00. Start here"), title
        assert title["transform"] == "none", f"the theme rewrites the heading's case: {title}"
        assert title["top"] < 0.15 * title["height"], f"an empty band above the title: {title}"
        assert title["code"] == 0, f"the setup cell sits on the title slide: {title}"
        page.keyboard.press("ArrowRight")
        wait_for(page, "() => location.hash && !location.hash.startsWith('#/slide-0-')",
                 timeout=30, what="the next slide")
        assert blocked == []   # reveal.js, its theme and fonts come with jupyterlab-rise
        lab.shutdown_kernels()
