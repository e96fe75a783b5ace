# One-command set-up: `make demo` and `make test` create .venv and install everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch; an unpinned torch would pull gigabytes of CUDA packages.
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench fuzz lint clean

setup: $(STAMP)
	@echo "unseen is installed: run $(BIN)/unseen, or 'source $(BIN)/activate' and then unseen"

# albumentations pulls opencv-python-headless, which shares the cv2 folder with the contrib build: installed
# after it, it hides cv2.xphoto's inpainting. The last two steps put the contrib build back on top, and check.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[dev,ray]"
	$(BIN)/pip install --quiet --force-reinstall --no-deps "opencv-contrib-python-headless==$$($(BIN)/python -c \
		'import importlib.metadata as m; print(m.version("opencv-contrib-python-headless"))')"
	$(BIN)/python -c "import cv2; cv2.xphoto.INPAINT_FSR_FAST"
	touch $(STAMP)

demo: setup
	$(BIN)/python -m unseen.demo demo-output

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests bench

bench: setup
	$(BIN)/python bench/photos.py
	$(BIN)/python bench/dilate.py
	$(BIN)/python bench/video.py --methods flow:learned,flow:camera
	$(BIN)/python bench/flow_completion.py
	$(BIN)/python bench/segment.py --ablation
	$(BIN)/python bench/fidelity.py
	$(BIN)/python bench/memory.py --floor
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/track.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/inpaint.py
	$(BIN)/python bench/segment.py --wide
	$(BIN)/python bench/train.py

# 1,000 damaged inputs through the command line (~10 min); a 20-case run is part of make test.
fuzz: setup
	$(BIN)/python bench/fuzz.py --out out/fuzz

clean:
	rm -rf $(VENV) demo-output .pytest_cache
