# microlab: `make help` lists what each target does.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888

.DEFAULT_GOAL := help
.PHONY: help setup course test test-fast bench gallery students clean conductor-jar conformance kafka-jars

help:  ## List the targets and what they do
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

# setup.py and the C source too: pip builds the optional compiled hot path (microlab/_speedups.c).
$(STAMP): pyproject.toml setup.py microlab/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)  ## Create .venv and install microlab with everything the course and tests need

course: setup  ## Set up, then open the course in JupyterLab (localhost only, token on; as root adds --allow-root; GRADING=1 shows nbgrader's menus)
	$(BIN)/python -m tools.course --port $(PORT) $(if $(GRADING),--grading)

# The tests that start real servers, drive a browser or time real processes run one at a time
# (a second test beside them would slow the servers they wait on); the unit tests and the
# notebooks have no such timing and run on both cores (pytest-xdist, a test file per worker,
# so that a file's module fixtures and its tests' order stay together).
SERIAL_TESTS := tests/test_browser.py tests/test_site.py tests/real_broker tests/real_conductor \
	tests/real_kafka tests/real_temporal
PARALLEL := -n 2 --dist loadfile
# Unit tests that the pure-Python path must pass as well (the real servers' and the browser's
# tests exercise the same hot path as the unit tests, and take most of the time; test_hotpath.py
# compares the two paths, so it runs in the first pass only).
PURE_TESTS := tests $(addprefix --ignore=,$(SERIAL_TESTS)) --ignore=tests/test_hotpath.py

test: setup  ## Set up, then run every test (unit tests and notebooks on both cores, then the real servers' and browser tests), then the unit tests on the pure-Python path
	$(BIN)/python -m pytest $(PARALLEL) tests notebooks solutions $(addprefix --ignore=,$(SERIAL_TESTS))
	$(BIN)/python -m pytest $(SERIAL_TESTS)
	MICROLAB_PURE=1 $(BIN)/python -m pytest $(PARALLEL) $(PURE_TESTS) -q

test-fast: setup  ## Unit tests only (no notebooks, no browser)
	$(BIN)/python -m pytest tests --ignore=tests/test_browser.py --ignore=tests/test_site.py

conductor-jar: setup  ## Fetch the Conductor OSS server jar with Maven into ~/.cache/microlab (for the real-server tests)
	$(BIN)/python -c "from microlab.real.conductor_server import ensure_jar; print(ensure_jar())"

kafka-jars: setup  ## Fetch the Apache Kafka broker's jars with Maven into ~/.cache/microlab (for the Kafka tests)
	$(BIN)/python -c "from microlab.real.kafka_server import ensure_jars; print(ensure_jars())"

conformance: conductor-jar  ## Differential tests against a real Conductor: agreement per feature (also build/conformance.txt)
	rm -f build/conformance.txt
	$(BIN)/python -m pytest tests/real_conductor/test_conformance.py tests/real_conductor/test_conformance_generated.py -q -s -p no:randomly

bench: setup  ## Print the benchmark table (about a minute; see benchmarks/README.md)
	$(BIN)/python -m benchmarks

gallery: setup  ## Write every figure as HTML and PNG to build/gallery (PNG needs chromium)
	$(BIN)/python scripts/gallery.py build/gallery

students: setup  ## Regenerate the student notebooks in notebooks/ from solutions/ (after nbgrader and slide metadata)
	$(BIN)/python scripts/grading_metadata.py
	$(BIN)/python scripts/slide_metadata.py
	$(BIN)/python scripts/student_versions.py

clean:  ## Remove the virtual environment and generated files
	rm -rf $(VENV) build *.egg-info

.PHONY: site present screenshots grade slides

site: setup  ## Build the static course site in site/ (every notebook run; figures work offline)
	$(BIN)/python -m tools.build_site site

present: setup  ## Show a lab as an app with Voila on 127.0.0.1:8866 (default 01's lab; NB=notebooks/x.ipynb, VOILA_PORT=...)
	$(BIN)/python -m tools.present $(NB) $(if $(VOILA_PORT),--port $(VOILA_PORT))

screenshots: setup  ## Run every notebook in JupyterLab (headless Chromium); PNGs in artifacts/screenshots/
	$(BIN)/python -m tools.screenshots

grade: setup  ## Autograde submissions with nbgrader: DIR/<student>/<notebook>.ipynb -> build/grades.csv (OUT=...)
	@test -n "$(DIR)" || { echo "make grade DIR=submissions/  (one folder per student, holding chapter notebooks)"; exit 2; }
	$(BIN)/python -m tools.grade $(DIR) $(if $(OUT),--out $(OUT))

slides: setup  ## Show a chapter as RISE slides in JupyterLab (default 01; NB=05_performance, SLIDES_PORT=...)
	$(BIN)/python -m tools.slides $(NB) $(if $(SLIDES_PORT),--port $(SLIDES_PORT))
