"""File access for any URI that fsspec understands (ZenML's `zenml.io.fileio`)."""
