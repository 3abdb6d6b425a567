"""course_lib: what the MNIST course's notebooks, hidden tests and grading pipeline share.

Importing the package is cheap: TensorFlow/Keras are imported only by the modules that need
them, so that loading MNIST or reading a notebook never pays TensorFlow's start-up.
"""

import sys

__version__ = "0.1.0"

# nbformat validates notebooks with jsonschema, whose format checkers import rfc3987-syntax
# when it is installed (jupyter-events requires it). That module compiles a grammar when
# imported: 2.7 s on a 2-core machine, paid by every sandboxed run and every `course` command.
# No schema validated here uses the two "iri" formats it checks (the notebook format has
# none), so jsonschema is told the module is absent and leaves those formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)
