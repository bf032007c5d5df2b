"""Storage behind two narrow interfaces (see base.py): metadata and blobs."""
