"""Tests of the parse stage (monitor.parse), on fixture files written for them."""
