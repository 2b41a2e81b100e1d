"""Load benchmark of ZtoApi against a fast fake chat.z.ai (see bench/README.md)."""
