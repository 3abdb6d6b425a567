# The two commands of the README, each creating the virtual environment when it is missing:
#   make demo   runs the end-to-end demo on the embedded defaults
#   make test   runs the whole test suite (make test-fast: without the slow end-to-end tests)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The real MNIST of a checkout with ../shared beside it; elsewhere course.toml falls back to keras.
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: demo test test-fast student-package lock clean

demo: $(VENV)/installed
	$(BIN)/course demo

test: $(VENV)/installed
	$(BIN)/python -m pytest

test-fast: $(VENV)/installed
	$(BIN)/python -m pytest -m "not slow"

# What students install (dist/student/): never the repository, which holds the solutions.
student-package: $(VENV)/installed
	$(BIN)/course student-package

# Installs course_lib (editable) with the versions pinned in constraints.txt. pip -qq prints
# its errors only: no warning block (setuptools' "Editable installation" notice, a machine's
# unreachable extra index) before the demo's or the tests' own output.
$(VENV)/installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq --constraint constraints.txt --editable '.[test]'
	touch $@

# Re-pins constraints.txt from a fresh environment (after changing pyproject.toml).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet '.[test]'
	.venv-lock/bin/python -m pip freeze --all --exclude pip --exclude course_lib > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) gradebook.db submitted autograded/* feedback
