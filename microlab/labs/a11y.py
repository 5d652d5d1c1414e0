"""Every lab control reachable by a screen reader under the name its visible label shows.

Why this is needed: ipywidgets draws a slider's description as a ``<label>`` beside a
noUiSlider handle (``role="slider"``) that the label is not tied to, so a screen reader
announces "slider, 10" with no name; Chromium's accessibility tree shows the same. A
:class:`ControlLabels` (an invisible widget in each lab) ties every such control inside
the lab to its visible label once the lab is on the page, and again when the lab's
controls are redrawn: the label gets an id and the control ``aria-labelledby`` it, so
what is read out is exactly what is written. A button showing only an icon (the Play
widget's) is named after its tooltip or its icon.
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = """
let counter = 0;
const tie = (root) => {
  for (const box of root.querySelectorAll('.widget-inline-hbox, .widget-textarea, .widget-text')) {
    const label = [...box.children].find(ch => ch.classList.contains('widget-label'));
    // Only a visible label with words names a control (a checkbox's own <label> already does).
    if (!label || !label.textContent.trim() || !label.offsetParent) continue;
    if (!label.id) label.id = 'microlab-label-' + (++counter) + '-' + Math.random().toString(36).slice(2, 7);
    for (const control of box.querySelectorAll('[role="slider"], input, select, textarea')) {
      if (control.closest('label') || control.getAttribute('aria-label')) continue;
      if (control.getAttribute('aria-labelledby') !== label.id)
        control.setAttribute('aria-labelledby', label.id);
    }
  }
};
// A button that shows only an icon (the Play widget's play, stop and loop) is named
// after its tooltip, else after its icon.
const ICON_NAMES = {'fa-play': 'play', 'fa-pause': 'pause', 'fa-stop': 'stop', 'fa-retweet': 'loop',
                    'fa-repeat': 'loop', 'fa-sync': 'loop'};
const nameButtons = (root) => {
  for (const b of root.querySelectorAll('button')) {
    if (b.closest('.js-plotly-plot') || b.textContent.trim() || b.getAttribute('aria-label')) continue;
    const icon = b.querySelector('i');
    const cls = icon ? [...icon.classList].find(c => ICON_NAMES[c]) : null;
    const name = b.title || (cls && ICON_NAMES[cls]);
    if (name) b.setAttribute('aria-label', name);
  }
};
export default {
  render({ el }) {
    el.style.display = 'none';
    let root = null, observer = null, tries = 0;
    const find = () => {
      root = el.closest('[class*="microlab-lab-"]');
      if (root) {
        tie(root);
        // Re-tie when controls are redrawn, not on every figure redraw (plotly's SVG).
        observer = new MutationObserver(records => {
          if (records.some(r => !(r.target.closest && r.target.closest('.js-plotly-plot')))) { tie(root); nameButtons(root); }
        });
        observer.observe(root, {childList: true, subtree: true});
      } else if (tries++ < 600) {
        requestAnimationFrame(find);   // not on the page yet (about 10 s at most)
      }
    };
    find();
    return () => observer && observer.disconnect();
  }
};
"""


class ControlLabels(anywidget.AnyWidget):
    """Invisible: names each control of its lab after its visible label (see the module docstring)."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
