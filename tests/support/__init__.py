"""Test helpers shared by several test modules (local servers, fixtures' building blocks)."""
