"""The verifier, a clean process that decides every point from exported data (main), and its
safe reader of those exports (exports)."""
