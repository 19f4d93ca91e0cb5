"""The desk's workflows: they decide and wait; activities do the side effects."""
