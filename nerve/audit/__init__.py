"""The audit log: who changed what, and when — every change a key, an operator, a marketer or
store staff makes."""
