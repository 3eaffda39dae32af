"""Identity graph: which identifiers belong to which person, every merge explained and undoable."""
