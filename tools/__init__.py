"""Developer and instructor tools around the course (not part of the microlab package).

- :mod:`tools.browser`: start JupyterLab or Voila on a free local port, drive headless
  Debian Chromium through playwright, run a notebook's cells, check what rendered,
  exercise a lab's widgets, take screenshots; stop every server by its PID.
- :mod:`tools.build_site`: the static course site (``make site``).
- :mod:`tools.screenshots`: a screenshot of every notebook cell (``make screenshots``).
- :mod:`tools.present`: a lab as a standalone Voila app for the classroom (``make present``).
- :mod:`tools.demo`: a tiny widget lab notebook that proves all of the above work.

Run them as modules from the repository root (``python -m tools.build_site site``).
"""
