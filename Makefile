# The two commands of the README:
#   make reproduce   set up, then execute notebooks 01-05 in order on the bundled data (outputs, figures, checkpoints)
#   make test        set up, then run the whole test suite (QUICK notebooks, virtual microphone, browser)
PY := .venv/bin/python

.PHONY: setup reproduce release test test-fast bench notebooks-quick clean-cache

setup:
	bash scripts/setup.sh

reproduce: setup
	$(PY) scripts/run_notebooks.py

# The bundled checkpoints: notebooks 01-04 on corpus v2 (built from the registries first if missing), writing
# into audioclf_lib/checkpoints with the release budgets (AUDIOCLF_RELEASE=1); the executed notebooks and their
# figures go to experiments/results/release/.
release: setup
	test -f data/cache/corpus/v2/manifest.csv || $(PY) -m audioclf_lib corpus build data/cache/corpus/v2
	AUDIOCLF_RELEASE=1 AUDIOCLF_DATA=$(CURDIR)/data/cache/corpus/v2 AUDIOCLF_RUN_CHECKPOINTS=$(CURDIR)/audioclf_lib/checkpoints \
		$(PY) scripts/run_notebooks.py 01 02 03 04 --out experiments/results/release

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
