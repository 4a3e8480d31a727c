# The two commands of the README:
#   make reproduce   set up, then execute notebooks 01-05 in order on the bundled data (outputs, figures, checkpoints)
#   make test        set up, then run the whole test suite (QUICK notebooks, virtual microphone, browser)
PY := .venv/bin/python

.PHONY: setup reproduce test test-fast bench notebooks-quick clean-cache

setup:
	bash scripts/setup.sh

reproduce: setup
	$(PY) scripts/run_notebooks.py

test: setup
	bash scripts/test.sh

# Library tests only (no notebooks, no audio daemon, no browser): seconds.
test-fast: setup
	$(PY) -m pytest -m "not slow and not audio and not browser" -q

bench: setup
	$(PY) -m audioclf_lib bench

notebooks-quick: setup
	QUICK=1 $(PY) scripts/run_notebooks.py --out /tmp/audioclf-notebooks

clean-cache:
	rm -rf data/cache
