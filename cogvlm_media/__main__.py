from cogvlm_media.cli.app import main

main()
