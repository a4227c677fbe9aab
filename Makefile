# Swin mask lab: two commands set everything up on a fresh machine.
#   make lab    create .venv if needed, install, open JupyterLab on notebooks/
#   make test   create .venv if needed, install, run the unit tests and every notebook (nbval)
#   make app    the explorer app: app/explorer.ipynb served by Voila on 127.0.0.1:8866, code hidden
# Both servers bind loopback unless you name another address (make lab LAB_HOST=0.0.0.0) and always require
# a token: LAB_TOKEN / APP_TOKEN if given, else a fresh random one per start, printed in the URL.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch; pyproject.toml's range admits it, so pip installs nothing newer.
TORCH  ?= torch==2.13.0
# Our own names: `?=` takes a variable from the environment, and HOST or PORT may be set there by accident
# (tcsh sets HOST to the machine's name, which would bind a network interface).
LAB_HOST  ?= 127.0.0.1
LAB_PORT  ?= 8888
LAB_TOKEN ?=
APP_HOST  ?= 127.0.0.1
APP_PORT  ?= 8866
APP_TOKEN ?=
# The notebooks `make execute` re-runs, in this order.
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9]*.ipynb)) app/explorer.ipynb
# A token, in the recipe's shell: the given one, or a new random one (an empty token would turn authentication off).
new_token = $$(test -n "$(1)" && printf '%s' "$(1)" || $(BIN)/python -c 'import secrets; print(secrets.token_hex(24))')
# pytest-xdist workers of make test
TEST_WORKERS ?= 2
# jupyter refuses to start as root without --allow-root (CI and containers run as root)
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test venv execute picture app bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"
	@touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)
	@token=$(call new_token,$(LAB_TOKEN)); \
	echo "JupyterLab: http://$(LAB_HOST):$(LAB_PORT)/lab?token=$$token"; \
	exec $(BIN)/jupyter lab --notebook-dir=notebooks --ip="$(LAB_HOST)" --port="$(LAB_PORT)" \
		--IdentityProvider.token="$$token" $(ROOT_FLAG)

# The explorer app: app/explorer.ipynb as a standalone page (Voila hides the code); open the URL it prints.
app: $(STAMP)
	@token=$(call new_token,$(APP_TOKEN)); \
	echo "Explorer app: http://$(APP_HOST):$(APP_PORT)/?token=$$token"; \
	exec $(BIN)/voila app/explorer.ipynb --no-browser --Voila.ip="$(APP_HOST)" --port="$(APP_PORT)" --token="$$token"

# Two workers (pytest-xdist): each file runs whole on one worker, in the order of tests/conftest.py (browser tests first).
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Re-run every notebook top to bottom and store its outputs (do this after changing swin_viz). They run into a
# temporary folder and replace the committed ones only when every one succeeded; a failure names the notebook.
execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py $(NOTEBOOKS)

# The README's picture: the pipeline explorer's figure for the 9x9 / 3 / 1 walkthrough.
picture: $(STAMP)
	$(BIN)/python -c "from swin_viz.widgets import STAGES, Settings; open('docs/pipeline.png', 'wb').write(STAGES['pipeline'].picture(Settings()).to_png())"

# Time the mask constructions, the masked attention and every explorer's redraw; prints tables, writes
# bench/results/ (QUICK=1 for a short run, written to the git-ignored bench/results/quick/ instead).
bench: $(STAMP)
	$(BIN)/python bench/bench_mask.py $(if $(QUICK),--quick)
	$(BIN)/python bench/bench_redraw.py $(if $(QUICK),--quick)
	$(BIN)/python bench/bench_memory.py $(if $(QUICK),--quick)
	$(BIN)/python bench/bench_browser.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
