"""cogvlm-media inside DaVinci Resolve: ``logic`` (plain Python, no Resolve import) and ``host`` (the glue
that reads and writes Resolve's objects). The scripts in ``plugins/resolve/scripts`` call ``host.main``."""
