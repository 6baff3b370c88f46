"""Run the real `cogvlm-media` CLI in a test subprocess with the test doubles of watch_plugins installed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import watch_plugins  # noqa: E402

watch_plugins.install()

from cogvlm_media.cli.app import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "cogvlm-media"
    main()
