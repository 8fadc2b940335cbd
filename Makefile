PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test test-compiled lint bench bench-full clean

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

# The suite again on the mypyc-compiled core (setup.py), built in place in a copy of the tree
# (the checkout's own modules stay pure Python for editing); ISOILL_BUILD tells the suite which
# build it must find (tests/test_build.py).
COMPILED := build/compiled
test-compiled: $(STAMP)
	rm -rf $(COMPILED) && mkdir -p $(COMPILED)
	git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -xf - -C $(COMPILED)
	cd $(COMPILED) && ISOILL_MYPYC=1 $(CURDIR)/$(VENV)/bin/python setup.py --quiet build_ext --inplace
	cd $(COMPILED) && ISOILL_BUILD=compiled PYTHONPATH=$(CURDIR)/$(COMPILED) $(CURDIR)/$(VENV)/bin/pytest

# Results go into docs/performance.md; PYTHONPATH=DIR measures the isoill in DIR instead
# (a clone at another commit, say). bench-full adds 1M stored transactions, longer runs, and
# the PostgreSQL store with one gateway process and two (issue 19).
bench: $(STAMP)
	$(VENV)/bin/python bench/codec.py --doc docs/performance.md
	$(VENV)/bin/python bench/instructions.py --doc docs/performance.md
	$(VENV)/bin/python bench/e2e.py --doc docs/performance.md
	$(VENV)/bin/python bench/growth.py --doc docs/performance.md
	$(VENV)/bin/python bench/startup.py --doc docs/performance.md
	$(VENV)/bin/python bench/iso18626.py --doc docs/performance.md
	$(VENV)/bin/python bench/bridge_outbound.py --doc docs/performance.md
	$(VENV)/bin/python bench/console.py --doc docs/performance.md

bench-full: $(STAMP)
	$(VENV)/bin/python bench/codec.py --doc docs/performance.md
	$(VENV)/bin/python bench/instructions.py --doc docs/performance.md
	$(VENV)/bin/python bench/e2e.py --apdus 20000 --rate-seconds 30 --doc docs/performance.md
	$(VENV)/bin/python bench/growth.py --sizes 1000,10000,100000,1000000 --doc docs/performance.md
	$(VENV)/bin/python bench/e2e.py --stores sqlite,postgres,postgres:2 --doc docs/performance.md
	$(VENV)/bin/python bench/growth.py --store postgres --sizes 1000,10000,100000,1000000 --doc docs/performance.md
	$(VENV)/bin/python bench/startup.py --doc docs/performance.md
	$(VENV)/bin/python bench/iso18626.py --doc docs/performance.md
	$(VENV)/bin/python bench/bridge_outbound.py --doc docs/performance.md
	$(VENV)/bin/python bench/console.py --doc docs/performance.md

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
