"""Tests organised by threat (see README.md: THREATS T1-T30 to the tests that prove them)."""
