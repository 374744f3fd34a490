"""Text engines: tokenizers (character-level and byte-level BPE) shared by language models and seq2seq."""
