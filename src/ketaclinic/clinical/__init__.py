"""The pure clinical core: no database, no web, no clock reads, no unseeded randomness."""
