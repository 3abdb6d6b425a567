"""course_lib: what the MNIST course's notebooks, hidden tests and grading pipeline share.

Importing the package is cheap: TensorFlow/Keras are imported only by the modules that need
them, so that loading MNIST or reading a notebook never pays TensorFlow's start-up.
"""

__version__ = "0.1.0"
