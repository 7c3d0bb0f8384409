# The two commands of the README: `make study` (the main job) and `make test` (the test suite).
# Each creates .venv with the pinned dependencies if it is missing or older than pyproject.toml.
VENV ?= .venv
CORES ?= all
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: study test test-fast lint docs apt-lists clean-results

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian's package lists are needed by `apt-get download` (corpus acquisition); fetch them once if absent.
apt-lists:
	@if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq; \
	  else echo "note: no Debian package lists; run 'sudo apt-get update' once (corpus downloads need it)"; fi; \
	fi

study: $(BIN)/.installed apt-lists
	$(BIN)/snakemake --cores $(CORES)

test: $(BIN)/.installed apt-lists
	$(BIN)/pytest -ra

test-fast: $(BIN)/.installed
	$(BIN)/pytest -ra -m "not integration"

lint: $(BIN)/.installed
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean-results:
	rm -rf results logs benchmarks .snakemake

docs: $(BIN)/.installed
	$(BIN)/python -c "from pathlib import Path; from memkd.schema_doc import render, replace_section; p = Path('docs/config.md'); p.write_text(replace_section(p.read_text(), render('workflow/schemas/config.schema.yaml')))"
