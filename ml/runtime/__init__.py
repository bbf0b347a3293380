"""What the worker runs: faces found and aligned, preprocessed, read by the shipped net (no Keras)."""
