"""Wire-format codecs, one module per format."""
