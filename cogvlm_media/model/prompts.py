"""The questions the vision analyser asks CogVLM2-Video, shared with the fine-tuning data export so that
training matches inference."""

CAPTION_PROMPT = "Please describe the video in detail."
MOMENT_PROMPT = ("List the key moments of this video, one per line, each as the second it happens "
                 "followed by what happens, for example '3: a door opens'.")
SUMMARY_PROMPT = ("These are descriptions of consecutive parts of one scene of a video: {parts} "
                  "Summarise the scene in one or two sentences.")
CAPTION_CHARS = 600  # of each window caption fed to a scene summary
WINDOW_PROMPTS = (CAPTION_PROMPT, MOMENT_PROMPT)  # asked of every window, over one shared vision pass


def summary_prompt(captions: list[str]) -> str:
    """The text-only question that summarises a scene from the captions of its windows."""
    return SUMMARY_PROMPT.format(parts=" ".join(f"({n}) {p[:CAPTION_CHARS].strip()}"
                                                for n, p in enumerate(captions, 1)))
