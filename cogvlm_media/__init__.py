"""cogvlm-media: timestamped scene summaries and key-moment markers for video editors and archives."""

__version__ = "0.1.0"
