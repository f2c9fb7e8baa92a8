"""Activities: one module per outside system, one class per module, clients injected."""
