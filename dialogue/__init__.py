"""The conversation: domain.yml, the embedded form runner and the terminal shell."""
