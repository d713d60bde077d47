# Two entry points do all set-up on a fresh machine (see README):
#   make verify   install the core and run the claims verifier on the shipped results/
#   make test     install everything (CPU torch pinned) and run the test suite
PY ?= python3
PIP = $(PY) -m pip install -q --disable-pip-version-check
RESULTS ?= results/
COMPARE ?= ../shared/paper-results

.PHONY: install-core install-test verify test thorough mutation lint report

install-core:
	$(PIP) -e .

install-test:
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	$(PIP) --no-deps curvlinops-for-pytorch

verify: install-core
	@$(PY) -m claims verify --results $(RESULTS); rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "claims verify: exit 1 = at least one claim fails on this data (see the table above)"; fi; \
	if [ $$rc -eq 2 ]; then echo "claims verify: exit 2 = unusable input (see the error line above)"; fi; \
	exit $$rc

test: install-test
	$(PY) -m pytest -q

thorough: install-test
	SAD_HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q property_tests

mutation: install-test
	$(PY) -m property_tests.mutation_check

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# the HTML report (figures + tables) of the shipped results beside the authors' data
report: install-core
	$(PY) -m claims report --results $(RESULTS) --compare $(COMPARE) --out report/
