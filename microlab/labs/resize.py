"""A lab's figures take the width of the cell they are shown in, once they are on the page.

Why this is needed: JupyterLab draws a widget's view before attaching it to the page, so
plotly measures a detached element, falls back to its default 700 px width, and lays out
titles with no room measured (a subtitle lands above its title). Nothing tells the figure
later that the page gave it 968 px. :class:`WidthWatch`, an invisible widget in the lab,
reports the lab's width to the kernel once the lab is on the page, and again whenever its
*width* changes (not its height, which changes with every update and must not cost a
redraw); the lab then sets that width on its figures (:meth:`Lab._fit_width`), and plotly
draws them again, attached and measured.
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = """
export default {
  render({ model, el }) {
    el.style.display = 'none';
    let root = null, width = null, observer = null, tries = 0;
    const nudge = () => {
      const w = Math.round(root.getBoundingClientRect().width);
      if (w > 0 && w !== width) {
        width = w;
        model.set('width', w); model.save_changes();
      }
    };
    const find = () => {
      root = el.closest('[class*="microlab-lab-"]');
      if (root && root.getBoundingClientRect().width > 0) {
        observer = new ResizeObserver(nudge);
        observer.observe(root);
        nudge();
      } else if (tries++ < 600) {
        requestAnimationFrame(find);   // not on the page yet (about 10 s at most)
      }
    };
    find();
    return () => observer && observer.disconnect();
  }
};
"""


class WidthWatch(anywidget.AnyWidget):
    """Invisible: makes the lab's responsive figures fit the lab's width (see the module docstring).

    ``width`` is the lab's width in pixels as the browser last reported it (0 before that).
    """

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
