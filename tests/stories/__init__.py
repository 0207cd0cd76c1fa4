"""Tests of copy detection and story grouping (monitor.stories), on texts written for them."""
