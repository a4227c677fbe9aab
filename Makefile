# Swin mask lab: two commands set everything up on a fresh machine.
#   make lab    create .venv if needed, install, open JupyterLab on notebooks/
#   make test   create .venv if needed, install, run the unit tests and every notebook (nbval)
#   make app    the explorer app: app/explorer.ipynb served by Voila on 127.0.0.1:8866, code hidden

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch; pyproject.toml's range admits it, so pip installs nothing newer.
TORCH  ?= torch==2.13.0
HOST   ?= 127.0.0.1
PORT   ?= 8888
APP_PORT ?= 8866
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
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=$(HOST) --port=$(PORT) $(ROOT_FLAG)

# The explorer app: app/explorer.ipynb as a standalone page (Voila hides the code); open the URL it prints.
app: $(STAMP)
	$(BIN)/voila app/explorer.ipynb --no-browser --Voila.ip=$(HOST) --port=$(APP_PORT) --token

test: $(STAMP)
	$(BIN)/python -m pytest

# Re-run every notebook top to bottom and store its outputs (do this after changing swin_viz).
execute: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.record_timing=False notebooks/[0-9]*.ipynb app/explorer.ipynb

# The README's picture: the pipeline explorer's figure for the 9x9 / 3 / 1 walkthrough.
picture: $(STAMP)
	$(BIN)/python -c "from swin_viz.widgets import STAGES, Settings; open('docs/pipeline.png', 'wb').write(STAGES['pipeline'].draw(Settings()).to_png())"

# Time the mask constructions, the masked attention and every explorer's redraw; prints tables, writes
# bench/results/ (QUICK=1 for a short run).
bench: $(STAMP)
	$(BIN)/python bench/bench_mask.py $(if $(QUICK),--quick)
	$(BIN)/python bench/bench_redraw.py $(if $(QUICK),--quick)
	$(BIN)/python bench/bench_memory.py $(if $(QUICK),--quick)
	$(BIN)/python bench/bench_browser.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
