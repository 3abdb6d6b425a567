"""The one exception the command line turns into a one-line message and exit code 2."""


class CourseError(Exception):
    """Bad input from the instructor (unknown assignment, missing folder, …): no traceback."""
