PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-full clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/isoill serve --config config/example.toml

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy isoill tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

# Results go into docs/performance.md; PYTHONPATH=DIR measures the isoill in DIR instead
# (a clone at another commit, say). bench-full adds 1M stored transactions and longer runs.
bench: $(STAMP)
	$(VENV)/bin/python bench/codec.py --doc docs/performance.md
	$(VENV)/bin/python bench/e2e.py --doc docs/performance.md
	$(VENV)/bin/python bench/growth.py --doc docs/performance.md
	$(VENV)/bin/python bench/startup.py --doc docs/performance.md
	$(VENV)/bin/python bench/iso18626.py --doc docs/performance.md
	$(VENV)/bin/python bench/bridge_outbound.py --doc docs/performance.md
	$(VENV)/bin/python bench/console.py --doc docs/performance.md

bench-full: $(STAMP)
	$(VENV)/bin/python bench/codec.py --doc docs/performance.md
	$(VENV)/bin/python bench/e2e.py --apdus 20000 --rate-seconds 30 --doc docs/performance.md
	$(VENV)/bin/python bench/growth.py --sizes 1000,10000,100000,1000000 --doc docs/performance.md
	$(VENV)/bin/python bench/startup.py --doc docs/performance.md
	$(VENV)/bin/python bench/iso18626.py --doc docs/performance.md
	$(VENV)/bin/python bench/bridge_outbound.py --doc docs/performance.md
	$(VENV)/bin/python bench/console.py --doc docs/performance.md

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
