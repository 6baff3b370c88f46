"""Fine-tuning CogVLM2-Video on the studio's own verified markers: data (``data``), LoRA training
(``train``) and the train / evaluate / merge workflow the CLI drives (``workflow``)."""
