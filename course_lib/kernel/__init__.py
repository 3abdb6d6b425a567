"""What runs in the student's sandboxes: the kernel (main, with the export cells' code in
export and the offline MNIST of keras.datasets in mnist) and the runner that drives it through
its sockets (runner, which `course check` runs too)."""
