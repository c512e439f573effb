"""Evaluation: measuring answers and retrieval (the answer set, the user's rated questions)."""
