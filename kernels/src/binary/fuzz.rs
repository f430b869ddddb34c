//! Property tests: random and mutated bytes through every parser never panic.
