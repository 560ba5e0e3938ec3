# Two commands on a fresh machine:  make demo  (set up + run the bundled example)
#                                   make test  (set up + run the tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test clean

$(BIN)/bakeoff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[serve]'
	touch $(BIN)/bakeoff

$(VENV)/.dev-installed: $(BIN)/bakeoff
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.dev-installed

setup: $(BIN)/bakeoff

demo: setup
	cd examples/telco_churn && ../../$(BIN)/bakeoff run bakeoff.toml

test: $(VENV)/.dev-installed
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (echo "installing the PostgreSQL server for the tests" && apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
	@command -v chromium >/dev/null 2>&1 || \
	  (echo "installing Chromium for the browser tests" && apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@command -v java >/dev/null 2>&1 || \
	  (echo "installing Java for the Spark tests" && apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

clean:
	rm -rf $(VENV) examples/*/runs examples/*/.bakeoff

# The customer models against lifetimes and pymc-marketing, in a venv of their own (git-ignored):
# they must not enter the main one.
PEERS := benchmarks/.venv-customer

$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	echo '*' > $(PEERS)/.gitignore
	$(PEERS)/bin/pip install --quiet lifetimes==0.11.3 pymc-marketing==0.19.2 pyarrow
	touch $@

.PHONY: bench-customer
bench-customer: setup $(PEERS)/.installed
	$(BIN)/python benchmarks/customer_vs_lifetimes.py

# bakeoff serve against mlflow models serve and a bare FastAPI endpoint (the issue "Ship the winner").
.PHONY: bench-serve
bench-serve: setup
	$(BIN)/python benchmarks/serve_vs_mlflow.py
