"""The participant page and its payment webhook."""
