"""coordbot: the U4SSC Norway programme's chat and e-mail assistant (core, no chat framework)."""

__version__ = "0.1.0"
