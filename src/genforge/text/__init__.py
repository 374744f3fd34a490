"""Text engines shared by rag/ and guard/: sentence splitting and sentence-to-passage support scores."""
