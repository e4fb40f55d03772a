# `make test` is THE test command (CI runs it through .ci/run). Both targets set up .venv
# first; scripts/bootstrap.sh is a no-op when nothing changed.
.PHONY: run test lint clean distclean

VENV := .venv
PYTEST_ARGS ?=

run:
	bash scripts/bootstrap.sh
	$(VENV)/bin/compute-market run --scenario baseline --out runs/default --overwrite

# The static checks: ruff (lint and format), mypy, and the import-layer contracts.
lint:
	bash scripts/bootstrap.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The static checks, then all tests, slow and browser ones included. pytest exits 5 when
# it collected nothing; that must fail, or a broken test layout would pass silently.
test: lint
	bash scripts/bootstrap.sh --browser
	@status=0; $(VENV)/bin/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "make test: FAILED: pytest collected no tests (exit 5)" >&2; exit 1; \
	fi; \
	exit $$status

# Outputs and caches; keeps .venv (slow to rebuild). `make distclean` removes it too.
clean:
	rm -rf runs test-artifacts .pytest_cache build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
